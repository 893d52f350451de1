"""The conversation after submission: what officials and requesters do to a request, and
the messages a sede writes first."""

from __future__ import annotations

from services.intake.aggregate import Request
from services.intake.catalog import Catalog, default_catalog
from services.intake.rules.conversation import check_recipient
from services.intake.unit_of_work import UnitOfWork
from shared import access
from shared.access import Caller
from shared.errors import NotFound


def load_request(
    uow: UnitOfWork, request_id, for_update: bool = True, catalog: Catalog | None = None
) -> Request:
    """The request, under the rules of its channel (the catalog's ``channels``)."""
    request = uow.requests.get(request_id, for_update=for_update)
    if request is None:
        raise NotFound("request_not_found", "Richiesta non trovata.")
    request.rules = (catalog or default_catalog()).rules_for(request.row.channel)
    return request


def _worked_by(uow: UnitOfWork, official: Caller, request_id, catalog: Catalog | None) -> Request:
    """A request of the official's sede (an administrator: any), locked for the change."""
    access.require_official(official)
    request = load_request(uow, request_id, catalog=catalog)
    access.require_work(official, request.ownership)
    return request


def _asked_by(uow: UnitOfWork, requester: Caller, request_id, catalog: Catalog | None) -> Request:
    """A request the requester may see, locked for the change."""
    access.require_requester(requester)
    request = load_request(uow, request_id, catalog=catalog)
    access.require_own_request(requester, request.ownership)
    return request


# ---- the official ----------------------------------------------------------------------


def take_in_charge(
    uow: UnitOfWork, caller: Caller, request_id: str, command: dict, catalog: Catalog | None = None
) -> dict:
    request = _worked_by(uow, caller, request_id, catalog)
    request.take_in_charge(caller, uow.clock.now(), command.get("comment"))
    uow.commit()
    return {"id": str(request.id), "state": request.state}


def reply(
    uow: UnitOfWork, caller: Caller, request_id: str, command: dict, catalog: Catalog | None = None
) -> dict:
    """The sede answers; with ``close`` it also closes with an outcome (and may enable booking)."""
    request = _worked_by(uow, caller, request_id, catalog)
    message_id = request.answer(
        caller,
        uow.clock.now(),
        command["text"],
        command.get("comment"),
        close=bool(command.get("close")),
        outcome=command.get("outcome"),
        enable_booking=bool(command.get("enable_booking")),
    )
    uow.commit()
    return {"id": str(request.id), "state": request.state, "message_id": str(message_id)}


def close(
    uow: UnitOfWork, caller: Caller, request_id: str, command: dict, catalog: Catalog | None = None
) -> dict:
    request = _worked_by(uow, caller, request_id, catalog)
    request.close(
        caller,
        uow.clock.now(),
        command.get("outcome"),
        command.get("comment"),
        bool(command.get("enable_booking")),
    )
    uow.commit()
    return {"id": str(request.id), "state": request.state}


def change_subject(uow: UnitOfWork, caller: Caller, request_id: str, command: dict, catalog: Catalog) -> dict:
    request = _worked_by(uow, caller, request_id, catalog)
    subject = request.change_subject(
        catalog, command["subject"], caller, uow.clock.now(), command.get("comment")
    )
    uow.commit()
    return {"id": str(request.id), "subject": subject.code, "sla_days": subject.sla_days}


# ---- the requester ---------------------------------------------------------------------


def add_followup(
    uow: UnitOfWork, caller: Caller, request_id: str, command: dict, catalog: Catalog | None = None
) -> dict:
    request = _asked_by(uow, caller, request_id, catalog)
    message_id = request.follow_up(caller, uow.clock.now(), command["text"])
    uow.commit()
    return {"id": str(request.id), "message_id": str(message_id), "followups_left": request.followups_left}


def add_reminder(
    uow: UnitOfWork, caller: Caller, request_id: str, command: dict, catalog: Catalog | None = None
) -> dict:
    request = _asked_by(uow, caller, request_id, catalog)
    request.remind(caller, uow.clock.now(), command.get("text"))
    uow.commit()
    return {"id": str(request.id), "reminders": request.reminders}


# ---- the sede writes first ---------------------------------------------------------------


def send_outbound(uow: UnitOfWork, catalog: Catalog, caller: Caller, command: dict) -> dict:
    """A sede writes proactively to a company/intermediary/patronato, optionally in reply to a request."""
    access.require_official(caller)
    recipient, parent = dict(command["recipient"]), None
    if command.get("request_id"):
        parent = load_request(uow, command["request_id"], for_update=False, catalog=catalog)
        access.require_work(caller, parent.ownership)
        recipient = parent.reply_recipient(recipient)
    check_recipient(recipient)
    now = uow.clock.now()
    message = Request.write_from_sede(
        catalog,
        uow.requests.next_protocol(now),
        caller,
        caller.sede or command.get("sede"),
        recipient,
        command["subject"],
        command["text"],
        parent.id if parent else None,
        now,
    )
    uow.requests.add(message)
    uow.commit()
    return {"id": str(message.id), "protocol": message.protocol}
