"""The contact center's messages: an inbound fax becomes a request to work (with its image,
when the contact center uploaded one), a scheda Linea INPS a question for the regional
CRIC, an outbound message joins the history of the matricola or codice fiscale it names."""

from __future__ import annotations

import uuid

from services.intake.aggregate import Request
from services.intake.catalog import Catalog
from services.intake.models import Attachment
from services.intake.unit_of_work import UnitOfWork
from shared.consumer import RetryLater
from shared.events import Event


def record_message(uow: UnitOfWork, event: Event, *, catalog: Catalog) -> None:
    message = event.payload
    if uow.requests.has_external_message(message["message_id"]):
        return  # the same message published again under a new event id
    now = uow.clock.now()
    image = _fax_image(uow, message)
    protocol = uow.requests.next_protocol(now)
    if message["kind"] == "fax_inbound":
        request = Request.receive_fax(catalog, protocol, message, now)
    elif message["kind"] == "scheda_linea_inps":
        request = Request.receive_scheda(catalog, protocol, message, now)
    else:
        request = Request.write_from_contact_center(catalog, protocol, message, now)
    uow.requests.add(request)
    request.attach([image] if image is not None else [])
    uow.commit()


def _fax_image(uow: UnitOfWork, message: dict) -> Attachment | None:
    """The fax's image the contact center uploaded (through the gateway, as ``uploaded_by``)
    before publishing: claimed like a requester's upload. Not there (yet): retried, then
    dead-lettered with the reason, never a fax recorded without the image it announced."""
    wanted = message.get("image_attachment_id")
    if not wanted:
        return None
    key = uuid.UUID(str(wanted))
    found = next(iter(uow.attachments.locked([key])), None)
    if found is None or found.owner_sub != message["uploaded_by"] or found.request_id or found.purged_at:
        raise RetryLater(f"immagine del fax {message['message_id']}: allegato {key} non disponibile")
    return found
