"""Routing's entrypoints: the subscriptions it consumes, and explain() without storage."""
from nameko.testing.services import worker_factory

from services.routing import sedi as reference
from services.routing.domain import RoutingTable
from services.routing.service import RoutingService
from shared.consumer import EventHandler
from shared.messaging import SUBSCRIPTIONS


def handled_event_types(service_class):
    return {
        entrypoint.event_type
        for attribute in vars(service_class).values()
        for entrypoint in getattr(attribute, "nameko_entrypoints", ())
        if isinstance(entrypoint, EventHandler)
    }


def test_routing_handles_exactly_its_subscriptions():
    assert handled_event_types(RoutingService) == set(SUBSCRIPTIONS["routing"])


def test_explain_decides_without_touching_the_database():
    service = worker_factory(RoutingService)
    sedi = reference.generate_sample_sedi(reference.italian_provinces())
    service.routing_tables.current.return_value = RoutingTable("v-test", sedi)

    explained = service.explain({"profile": "operatore_generico", "area": "prestazioni", "citizen": {"cap": "00184"}})

    assert explained["assignment"]["name"] == "Direzione provinciale di Roma"
    assert explained["rule"] == "operatore_generico_cap"
    assert not service.db.begin.called
