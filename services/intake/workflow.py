"""Intake use cases after submission: what officials and requesters do to a request, the
sede's proactive messages and the contact center's faxes and outbound messages."""

from __future__ import annotations

import uuid

from services.intake import lifecycle
from services.intake.catalog import Catalog, default_catalog
from services.intake.handlers import emit, next_protocol, ownership, submitted_payload
from services.intake.lifecycle import RequestFacts
from services.intake.models import Message, Request, StateChange
from shared import access, events
from shared.access import Caller
from shared.errors import InvalidInput, NotFound, field_error
from shared.identifiers import IdentifierError, check_matricola


def load_request(session, request_id, for_update: bool = True) -> Request:
    try:
        key = uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("request_not_found", "Richiesta non trovata.") from None
    request = session.get(Request, key, with_for_update=for_update)
    if request is None:
        raise NotFound("request_not_found", "Richiesta non trovata.")
    return request


def facts_of(request: Request) -> RequestFacts:
    return RequestFacts(
        state=request.state,
        origin=request.origin,
        submitted_at=request.created_at,
        assigned_sede=request.assigned_sede,
        first_answer_at=request.first_answer_at,
        followups_count=request.followups_count,
        last_reminder_at=request.last_reminder_at,
    )


def _step_payload(request: Request, caller: Caller, now, comment: str | None = None, **more) -> dict:
    return {
        "request_id": request.id,
        "protocol": request.protocol,
        "actor": caller.sub,
        "actor_role": caller.role,
        "at": now,
        "comment": comment,
        **more,
    }


def _move(session, request: Request, to_state: str, caller: Caller, now, comment: str | None) -> None:
    if request.state != to_state:
        session.add(
            StateChange(
                request_id=request.id,
                from_state=request.state,
                to_state=to_state,
                comment=comment,
                actor=caller.sub,
                at=now,
            )
        )
        request.state = to_state
    request.updated_at = now


def _message(session, request: Request, kind: str, caller: Caller, text: str, now) -> Message:
    message = Message(
        id=uuid.uuid4(),
        request_id=request.id,
        kind=kind,
        author=caller.sub,
        author_role=caller.role,
        text=text,
        at=now,
    )
    session.add(message)
    return message


def _official_request(session, caller: Caller, request_id) -> tuple[Request, RequestFacts]:
    access.require_official(caller)
    request = load_request(session, request_id)
    access.require_work(caller, ownership(request))
    return request, facts_of(request)


def _own_request(session, caller: Caller, request_id) -> tuple[Request, RequestFacts]:
    access.require_requester(caller)
    request = load_request(session, request_id)
    access.require_own_request(caller, ownership(request))
    return request, facts_of(request)


# ---- the official ----------------------------------------------------------------------


def take_in_charge(
    session, clock, caller: Caller, request_id: str, command: dict, correlation_id=None
) -> dict:
    request, facts = _official_request(session, caller, request_id)
    now = clock.now()
    _move(session, request, lifecycle.take_in_charge(facts), caller, now, command.get("comment"))
    emit(
        session,
        events.REQUEST_TAKEN_IN_CHARGE,
        _step_payload(request, caller, now, command.get("comment"), sede=request.assigned_sede),
        correlation_id,
        clock,
    )
    return {"id": str(request.id), "state": request.state}


def reply(session, clock, caller: Caller, request_id: str, command: dict, correlation_id=None) -> dict:
    """The sede answers; with ``close`` it also closes with an outcome (and may enable booking)."""
    request, facts = _official_request(session, caller, request_id)
    now = clock.now()
    new_state = lifecycle.answer(facts)
    if command.get("close"):
        lifecycle.close(facts, command.get("outcome"))
    message = _message(session, request, "answer", caller, command["text"], now)
    first = request.first_answer_at is None
    request.first_answer_at = request.first_answer_at or now
    request.answers_count += 1
    _move(session, request, new_state, caller, now, command.get("comment"))
    emit(
        session,
        events.REQUEST_ANSWERED,
        _step_payload(
            request,
            caller,
            now,
            command.get("comment"),
            message_id=message.id,
            answer_number=request.answers_count,
            first_answer=first,
        ),
        correlation_id,
        clock,
    )
    if command.get("close"):
        _close(
            session,
            clock,
            request,
            caller,
            now,
            command["outcome"],
            command.get("comment"),
            bool(command.get("enable_booking")),
            correlation_id,
        )
    return {"id": str(request.id), "state": request.state, "message_id": str(message.id)}


def close(session, clock, caller: Caller, request_id: str, command: dict, correlation_id=None) -> dict:
    request, facts = _official_request(session, caller, request_id)
    lifecycle.close(facts, command.get("outcome"))
    _close(
        session,
        clock,
        request,
        caller,
        clock.now(),
        command["outcome"],
        command.get("comment"),
        bool(command.get("enable_booking")),
        correlation_id,
    )
    return {"id": str(request.id), "state": request.state}


def _close(session, clock, request, caller, now, outcome, comment, enable_booking, correlation_id) -> None:
    request.outcome = outcome.strip()
    request.booking_enabled = enable_booking
    request.closed_at = now
    _move(session, request, lifecycle.STATE_CLOSED, caller, now, comment)
    emit(
        session,
        events.REQUEST_CLOSED,
        _step_payload(request, caller, now, comment, outcome=request.outcome, booking_enabled=enable_booking),
        correlation_id,
        clock,
    )


def change_subject(
    session,
    clock,
    caller: Caller,
    request_id: str,
    command: dict,
    correlation_id=None,
    catalog: Catalog | None = None,
) -> dict:
    """ "Cambio oggetto per lavorazione": re-classify instead of asking for a new submission;
    the SLA follows the new subject and routing reconsiders the assignment."""
    catalog = catalog or default_catalog()
    request, facts = _official_request(session, caller, request_id)
    lifecycle.change_subject(facts, request.subject_code, command["subject"])
    subject = catalog.find_active(request.channel, request.profile, command["subject"])
    if subject is None:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "subject",
                    "unknown_subject",
                    f"Oggetto '{command['subject']}' non previsto per questo canale e profilo.",
                )
            ]
        )
    now = clock.now()
    old_subject = request.subject_code
    request.subject_code, request.catalog_version = subject.code, subject.catalog_version
    request.area, request.sla_days = subject.area, subject.sla_days
    request.updated_at = now
    emit(
        session,
        events.REQUEST_SUBJECT_CHANGED,
        _step_payload(
            request,
            caller,
            now,
            command.get("comment"),
            old_subject=old_subject,
            new_subject=subject.code,
            catalog_version=subject.catalog_version,
            area=subject.area,
            sla_days=subject.sla_days,
        ),
        correlation_id,
        clock,
    )
    return {"id": str(request.id), "subject": subject.code, "sla_days": subject.sla_days}


# ---- the requester ---------------------------------------------------------------------


def add_followup(session, clock, caller: Caller, request_id: str, command: dict, correlation_id=None) -> dict:
    request, facts = _own_request(session, caller, request_id)
    used = lifecycle.add_followup(facts)
    now = clock.now()
    message = _message(session, request, "followup", caller, command["text"], now)
    request.followups_count = used
    request.updated_at = now
    left = lifecycle.MAX_FOLLOWUPS - used
    emit(
        session,
        events.REQUEST_FOLLOWUP_ADDED,
        _step_payload(
            request, caller, now, None, message_id=message.id, interactions_used=used, interactions_left=left
        ),
        correlation_id,
        clock,
    )
    return {"id": str(request.id), "message_id": str(message.id), "followups_left": left}


def add_reminder(session, clock, caller: Caller, request_id: str, command: dict, correlation_id=None) -> dict:
    request, facts = _own_request(session, caller, request_id)
    now = clock.now()
    days = lifecycle.add_reminder(facts, now)
    text = command.get("text") or f"Sollecito: nessuna risposta dopo {days} giorni."
    _message(session, request, "reminder", caller, text, now)
    request.reminders_count += 1
    request.last_reminder_at = now
    request.updated_at = now
    emit(
        session,
        events.REQUEST_REMINDED,
        _step_payload(request, caller, now, None, days_waited=days),
        correlation_id,
        clock,
    )
    return {"id": str(request.id), "reminders": request.reminders_count}


# ---- outbound and contact center --------------------------------------------------------


def _outbound_request(
    session,
    clock,
    catalog,
    *,
    origin,
    subject_code,
    text,
    now,
    requester,
    requester_role,
    recipient,
    sede,
    external_message_id=None,
    parent_id=None,
) -> Request:
    subject = catalog.find_active("comunicazioni", origin, subject_code)
    request = Request(
        id=uuid.uuid4(),
        protocol=next_protocol(session, clock),
        origin=origin,
        channel="comunicazioni",
        profile=origin,
        subject_code=subject.code,
        catalog_version=subject.catalog_version,
        area=subject.area,
        sla_days=None,
        text=text,
        matricola=recipient.get("matricola"),
        consulente_codice_fiscale=recipient.get("codice_fiscale"),
        patronato_ente=(recipient.get("patronato") or {}).get("ente"),
        patronato_ufficio=(recipient.get("patronato") or {}).get("ufficio"),
        contacts=recipient.get("contacts") or {},
        parent_id=parent_id,
        requester_sub=requester,
        requester_name="",
        requester_role=requester_role,
        state=lifecycle.STATE_CLOSED,
        assigned_sede=sede,
        assignment={
            "kind": "sede",
            "code": sede,
            "name": "",
            "reason": "comunicazione in uscita della sede",
            "queue": "comunicazioni",
        }
        if sede
        else None,
        external_message_id=external_message_id,
        created_at=now,
        updated_at=now,
        closed_at=now,
    )
    session.add(request)
    session.add(
        StateChange(
            request_id=request.id,
            from_state=None,
            to_state=lifecycle.STATE_CLOSED,
            comment=None,
            actor=requester,
            at=now,
        )
    )
    return request


def send_outbound(
    session, clock, catalog: Catalog, caller: Caller, command: dict, correlation_id=None
) -> dict:
    """A sede writes proactively to a company/intermediary/patronato, optionally in reply to a request."""
    access.require_official(caller)
    sede = caller.sede or command.get("sede")
    recipient = dict(command["recipient"])
    parent = None
    if command.get("request_id"):
        parent = load_request(session, command["request_id"], for_update=False)
        access.require_work(caller, ownership(parent))
        recipient.setdefault("matricola", parent.matricola)
        recipient.setdefault("codice_fiscale", parent.consulente_codice_fiscale)
        if parent.patronato_ente:
            recipient.setdefault(
                "patronato", {"ente": parent.patronato_ente, "ufficio": parent.patronato_ufficio}
            )
        recipient.setdefault("contacts", parent.contacts)
    _check_recipient(recipient)
    now = clock.now()
    text = f"{command['subject']}\n\n{command['text']}"
    request = _outbound_request(
        session,
        clock,
        catalog,
        origin="sede",
        subject_code="comunicazione_sede",
        text=text,
        now=now,
        requester=caller.sub,
        requester_role=caller.role,
        recipient=recipient,
        sede=sede,
        parent_id=parent.id if parent else None,
    )
    emit(
        session,
        events.OUTBOUND_MESSAGE_SENT,
        {
            "message_id": request.id,
            "request_id": parent.id if parent else None,
            "sede": sede or "",
            "actor": caller.sub,
            "recipient": {
                "kind": recipient["kind"],
                "matricola": recipient.get("matricola"),
                "codice_fiscale": recipient.get("codice_fiscale"),
                "patronato": recipient.get("patronato"),
            },
            "subject": command["subject"],
            "contacts": {
                "email": (recipient.get("contacts") or {}).get("email"),
                "sms": (recipient.get("contacts") or {}).get("sms"),
            },
            "sent_at": now,
        },
        correlation_id,
        clock,
    )
    return {"id": str(request.id), "protocol": request.protocol}


def _check_recipient(recipient: dict) -> None:
    kind = recipient["kind"]
    problems = []
    if kind == "azienda" and not recipient.get("matricola"):
        problems.append(
            field_error("recipient.matricola", "matricola_required", "Indicare la matricola dell'azienda.")
        )
    if kind == "intermediario" and not (recipient.get("codice_fiscale") or recipient.get("matricola")):
        problems.append(
            field_error(
                "recipient.codice_fiscale",
                "codice_fiscale_required",
                "Indicare il codice fiscale dell'intermediario o una matricola.",
            )
        )
    if kind == "patronato" and not recipient.get("patronato"):
        problems.append(
            field_error(
                "recipient.patronato",
                "patronato_required",
                "Indicare codice ente e codice ufficio del patronato.",
            )
        )
    if recipient.get("matricola"):
        try:
            check_matricola(recipient["matricola"])
        except IdentifierError as exc:
            problems.append(field_error("recipient.matricola", exc.code, exc.detail))
    if problems:
        raise InvalidInput.from_errors(problems)


def _external_sub(system: str, sender: str) -> str:
    """The requester id of a contact-center message: system and sender, within the column
    (the sender's full name, up to 200 characters, is kept as the requester name)."""
    return f"{system}:{sender}"[: access.SUB_MAX]


def record_contact_center_message(session, event, *, clock, catalog: Catalog) -> None:
    """An inbound fax (a question to work, routed like a cassetto request) or an outbound
    contact-center message joins the history of the matricola or codice fiscale it names."""
    payload = event.payload
    if session.query(Request.id).filter(Request.external_message_id == payload["message_id"]).first():
        return  # the same message published again under a new event id
    now = clock.now()
    text = f"{payload['subject']}\n\n{payload['text']}"
    if payload["kind"] == "fax_inbound":
        subject = catalog.find_active("cassetto", "intermediario", "generico_informativo")
        request = Request(
            id=uuid.uuid4(),
            protocol=next_protocol(session, clock),
            origin="fax",
            channel="cassetto",
            profile="intermediario",
            subject_code=subject.code,
            catalog_version=subject.catalog_version,
            area=subject.area,
            sla_days=subject.sla_days,
            text=text,
            matricola=payload.get("matricola"),
            consulente_codice_fiscale=payload.get("codice_fiscale"),
            contacts={},
            requester_sub=_external_sub("fax", payload["sender"]),
            requester_name=payload["sender"],
            requester_role="fax",
            state=lifecycle.STATE_OPEN,
            external_message_id=payload["message_id"],
            created_at=payload["occurred_at"],
            updated_at=now,
        )
        session.add(request)
        session.add(
            StateChange(
                request_id=request.id,
                from_state=None,
                to_state=lifecycle.STATE_OPEN,
                comment=None,
                actor=request.requester_sub,
                at=now,
            )
        )
        session.flush()
        emit(session, events.REQUEST_SUBMITTED, submitted_payload(request), event.correlation_id, clock)
    else:
        recipient = {"matricola": payload.get("matricola"), "codice_fiscale": payload.get("codice_fiscale")}
        request = _outbound_request(
            session,
            clock,
            catalog,
            origin="contact_center",
            subject_code="comunicazione_contact_center",
            text=text,
            now=payload["occurred_at"],
            requester=_external_sub("contact-center", payload["sender"]),
            requester_role="contact_center",
            recipient=recipient,
            sede=None,
            external_message_id=payload["message_id"],
        )
    emit(
        session,
        events.CONTACT_CENTER_MESSAGE_RECORDED,
        {
            "message_id": payload["message_id"],
            "kind": payload["kind"],
            "matricola": payload.get("matricola"),
            "codice_fiscale": payload.get("codice_fiscale"),
            "recorded_at": now,
        },
        event.correlation_id,
        clock,
    )
