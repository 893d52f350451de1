"""Agenda's entrypoints consume only what shared/messaging.py SUBSCRIPTIONS grants."""
from services.agenda.service import AgendaService
from shared.consumer import EventHandler
from shared.messaging import SUBSCRIPTIONS


def handled_event_types(service_class):
    return {
        entrypoint.event_type
        for attribute in vars(service_class).values()
        for entrypoint in getattr(attribute, "nameko_entrypoints", ())
        if isinstance(entrypoint, EventHandler)
    }


def test_agenda_handles_exactly_its_subscriptions():
    assert handled_event_types(AgendaService) == set(SUBSCRIPTIONS["agenda"])
