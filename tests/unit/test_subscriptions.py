"""The subscription table in shared/messaging.py and the services' handlers agree."""

import importlib

import pytest

from shared.consumer import EventHandler
from shared.messaging import SUBSCRIPTIONS


def handled_event_types(service_class):
    return {
        entrypoint.event_type
        for attribute in vars(service_class).values()
        for entrypoint in getattr(attribute, "nameko_entrypoints", ())
        if isinstance(entrypoint, EventHandler)
    }


def service_class(name):
    module = importlib.import_module(f"services.{name}.service")
    return next(
        value
        for value in vars(module).values()
        if getattr(value, "name", None) == name and isinstance(value, type)
    )


@pytest.mark.parametrize("name", sorted(SUBSCRIPTIONS))
def test_each_service_handles_exactly_its_subscriptions(name):
    # a subscription without handler would fill a queue nobody reads
    assert handled_event_types(service_class(name)) == set(SUBSCRIPTIONS[name])
