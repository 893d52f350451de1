"""Notify's entrypoints consume only what shared/messaging.py SUBSCRIPTIONS grants."""
from services.notify.service import NotifyService
from shared.consumer import EventHandler
from shared.messaging import SUBSCRIPTIONS


def handled_event_types(service_class):
    return {
        entrypoint.event_type
        for attribute in vars(service_class).values()
        for entrypoint in getattr(attribute, "nameko_entrypoints", ())
        if isinstance(entrypoint, EventHandler)
    }


def test_notify_handles_exactly_its_subscriptions():
    assert handled_event_types(NotifyService) == set(SUBSCRIPTIONS["notify"])
