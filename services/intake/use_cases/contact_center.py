"""The contact center's messages: an inbound fax becomes a request to work, an outbound
message joins the history of the matricola or codice fiscale it names."""

from __future__ import annotations

from services.intake.aggregate import Request
from services.intake.catalog import Catalog
from services.intake.unit_of_work import UnitOfWork
from shared.events import Event


def record_message(uow: UnitOfWork, event: Event, *, catalog: Catalog) -> None:
    message = event.payload
    if uow.requests.has_external_message(message["message_id"]):
        return  # the same message published again under a new event id
    now = uow.clock.now()
    protocol = uow.requests.next_protocol(now)
    if message["kind"] == "fax_inbound":
        request = Request.receive_fax(catalog, protocol, message, now)
    else:
        request = Request.write_from_contact_center(catalog, protocol, message, now)
    uow.requests.add(request)
    uow.commit()
