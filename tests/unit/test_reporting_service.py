"""Reporting's entrypoints consume only what shared/messaging.py SUBSCRIPTIONS grants."""
from services.reporting.service import ReportingService
from shared.consumer import EventHandler
from shared.messaging import SUBSCRIPTIONS


def handled_event_types(service_class):
    return {
        entrypoint.event_type
        for attribute in vars(service_class).values()
        for entrypoint in getattr(attribute, "nameko_entrypoints", ())
        if isinstance(entrypoint, EventHandler)
    }


def test_reporting_handles_exactly_its_subscriptions():
    assert handled_event_types(ReportingService) == set(SUBSCRIPTIONS["reporting"])
