"""The request aggregate: the one place where a stored request changes.

``Request`` wraps the stored row (``models.Request``) with its state history and its
thread. Each transition checks its rule (rules/conversation.py), changes the row, its
counters, its history and its thread, and records the event it causes in ``events``, as
cosmicpython's ``Product.allocate`` does; the unit of work adds the recorded events to
the outbox in the transaction that stores the change. Whether the caller may ask for a
transition at all is the use case's check, with the access policy (shared/access.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.intake import models
from services.intake.catalog import Catalog, ChannelRules, Subject
from services.intake.rules import conversation
from services.intake.rules.submission import ValidSubmission
from shared import access, events
from shared.access import Caller
from shared.vocabulary import (
    ORIGIN_CONTACT_CENTER,
    ORIGIN_FAX,
    ORIGIN_LINEA_INPS,
    ORIGIN_SEDE,
    STATE_CLOSED,
    STATE_IN_PROGRESS,
    STATE_OPEN,
    STEP_ANSWERED,
    STEP_CLOSED,
    STEP_REOPENED,
    STEP_SENT,
    STEP_SUBJECT_CHANGED,
    STEP_SUBMITTED,
    STEP_TAKEN,
)

# the queue of a sede's own communications (officials scoped to areas see them too)
OUTBOUND_QUEUE = "comunicazioni"


def protocol_for(number: int, now: datetime) -> str:
    """The protocol a request is registered under: the year and the next number of the sequence."""
    return f"COMBID.{now.year}.{number:08d}"


@dataclass(frozen=True)
class RecordedEvent:
    """An event a transition caused, waiting for the unit of work to put it in the outbox."""

    type: str
    payload: dict


def _new_row(**fields) -> models.Request:
    # the counters start at zero on the object too, not only in the INSERT
    return models.Request(
        answers_count=0, followups_count=0, reminders_count=0, booking_enabled=False, **fields
    )


def _external_sub(system: str, sender: str) -> str:
    """The requester id of a contact-center message: system and sender, within the column
    (the sender's full name, up to 200 characters, is kept as the requester name)."""
    return f"{system}:{sender}"[: access.SUB_MAX]


class Request:
    def __init__(self, row: models.Request, rules: ChannelRules | None = None):
        self.row = row
        self.events: list[RecordedEvent] = []
        # the rules of the request's channel (catalog ``channels``), set by whoever loads it
        # for a step that depends on them (follow-ups, reminders, closing); COMBIPAT's if not
        self.rules = rules

    @property
    def id(self) -> uuid.UUID:
        return self.row.id

    @property
    def protocol(self) -> str:
        return self.row.protocol

    @property
    def state(self) -> str:
        return self.row.state

    @property
    def reminders(self) -> int:
        return self.row.reminders_count

    @property
    def followups_left(self) -> int:
        return conversation.followups_left(self.facts)

    @property
    def facts(self) -> conversation.RequestFacts:
        return conversation.facts_of(self.row, self.rules)

    @property
    def ownership(self) -> access.Ownership:
        return models.ownership(self.row)

    # ---- coming in ----------------------------------------------------------------------

    @classmethod
    def submit(cls, valid: ValidSubmission, requester: Caller, protocol: str, now: datetime) -> Request:
        """A requester's valid submission, registered under ``protocol``."""
        citizen, patronato = valid.citizen or {}, valid.patronato or {}
        request = cls(
            _new_row(
                id=uuid.uuid4(),
                protocol=protocol,
                origin=valid.channel.origin,
                channel=valid.channel.name,
                profile=valid.channel.profile,
                subject_code=valid.subject.code,
                catalog_version=valid.subject.catalog_version,
                area=valid.subject.area,
                cric_section=valid.cric_section,
                sla_days=valid.subject.sla_days,
                text=valid.text,
                case_identifier=valid.case_identifier,
                citizen_codice_fiscale=citizen.get("codice_fiscale"),
                citizen_cap=citizen.get("cap"),
                matricola=valid.matricola,
                patronato_ente=patronato.get("ente"),
                patronato_ufficio=patronato.get("ufficio"),
                contacts=valid.contacts,
                parent_id=uuid.UUID(valid.parent_id) if valid.parent_id else None,
                requester_sub=requester.sub,
                requester_name=requester.name or "",
                requester_role=requester.role,
                consulente_codice_fiscale=requester.codice_fiscale
                if valid.channel.name == "cassetto"
                else None,
                state=STATE_OPEN,
                created_at=now,
                updated_at=now,
            )
        )
        request._history(None, STATE_OPEN, requester.sub, now, step=STEP_SUBMITTED)
        # the token's address travels with the submission only (notify's fallback contact)
        request._record(
            events.REQUEST_SUBMITTED, {**request._submitted_payload(), "requester_email": requester.email}
        )
        return request

    def attach(self, uploads: list[models.Attachment]) -> None:
        """Staged uploads join the request (claimed by the use case, locked)."""
        for attachment in uploads:
            attachment.request_id = self.id

    @classmethod
    def receive_fax(cls, catalog: Catalog, protocol: str, message: dict, now: datetime) -> Request:
        """An inbound fax the contact center recorded: a question to work, routed like a
        cassetto request, in the history of the matricola or codice fiscale it names."""
        subject = catalog.find_active("cassetto", "intermediario", "generico_informativo")
        request = cls(
            _new_row(
                id=uuid.uuid4(),
                protocol=protocol,
                origin=ORIGIN_FAX,
                channel="cassetto",
                profile="intermediario",
                subject_code=subject.code,
                catalog_version=subject.catalog_version,
                area=subject.area,
                sla_days=subject.sla_days,
                text=f"{message['subject']}\n\n{message['text']}",
                matricola=message.get("matricola"),
                consulente_codice_fiscale=message.get("codice_fiscale"),
                contacts={},
                requester_sub=_external_sub("fax", message["sender"]),
                requester_name=message["sender"],
                requester_role="fax",
                state=STATE_OPEN,
                external_message_id=message["message_id"],
                created_at=message["occurred_at"],
                updated_at=now,
            )
        )
        request._history(None, STATE_OPEN, request.row.requester_sub, now, step=STEP_SUBMITTED)
        request._record(events.REQUEST_SUBMITTED, request._submitted_payload())
        request._record_contact_center_message(message, now)
        return request

    @classmethod
    def receive_scheda(cls, catalog: Catalog, protocol: str, message: dict, now: datetime) -> Request:
        """A scheda Linea INPS: a question the contact center could not answer, sent to the
        consulting area of the regional CRIC (circ. 135/2011), in the section it names; in
        the history of the citizen (codice fiscale) or company (matricola) it concerns."""
        subject = catalog.find_active("linea_inps", "contact_center", "scheda_linea_inps")
        request = cls(
            _new_row(
                id=uuid.uuid4(),
                protocol=protocol,
                origin=ORIGIN_LINEA_INPS,
                channel="linea_inps",
                profile="contact_center",
                subject_code=subject.code,
                catalog_version=subject.catalog_version,
                area=subject.area,
                sla_days=subject.sla_days,
                text=f"{message['subject']}\n\n{message['text']}",
                citizen_codice_fiscale=message.get("codice_fiscale"),
                matricola=message.get("matricola"),
                cric_section=message.get("cric_section"),
                stated_region=message.get("region"),
                contacts={},
                requester_sub=_external_sub("linea-inps", message["sender"]),
                requester_name=message["sender"],
                requester_role="contact_center",
                state=STATE_OPEN,
                external_message_id=message["message_id"],
                created_at=message["occurred_at"],
                updated_at=now,
            )
        )
        request._history(None, STATE_OPEN, request.row.requester_sub, now, step=STEP_SUBMITTED)
        request._record(events.REQUEST_SUBMITTED, request._submitted_payload())
        request._record_contact_center_message(message, now)
        return request

    def resubmit(self, now: datetime) -> None:
        """Publish the submission again, with the request's current facts (the unrouted sweep)."""
        self._record(events.REQUEST_SUBMITTED, self._submitted_payload())
        self.row.resubmitted_at = now

    def _routing_facts(self) -> dict:
        """What routing decides on besides the subject: channel, profile, where the citizen
        lives, the matricola, the patronato office."""
        row = self.row
        return {
            "channel": row.channel,
            "profile": row.profile,
            # a citizen with a residence (a scheda names the caller by codice fiscale only)
            "citizen": {"codice_fiscale": row.citizen_codice_fiscale, "cap": row.citizen_cap}
            if row.citizen_codice_fiscale and row.citizen_cap
            else None,
            "matricola": row.matricola,
            "patronato": {"ente": row.patronato_ente, "ufficio": row.patronato_ufficio}
            if row.patronato_ente
            else None,
            "cric_section": row.cric_section,
            "region": row.stated_region,
        }

    def _submitted_payload(self) -> dict:
        row = self.row
        return {
            "request_id": row.id,
            "protocol": row.protocol,
            "origin": row.origin,
            "subject": row.subject_code,
            "catalog_version": row.catalog_version,
            "area": row.area,
            "sla_days": row.sla_days,
            **self._routing_facts(),
            "case_identifier": row.case_identifier,
            "contacts": {"email": row.contacts.get("email"), "sms": row.contacts.get("sms")},
            "parent_id": row.parent_id,
            "requester": row.requester_sub,
            "submitted_at": row.created_at,
            "consulente": row.consulente_codice_fiscale,
        }

    # ---- routing decisions ---------------------------------------------------------------

    def record_routing(self, assignment: dict, decided_at: datetime) -> None:
        """Routing's decision: the request now sits in a sede's (or triage's) queue."""
        row = self.row
        if row.routed_at is not None and row.routed_at > decided_at:
            return  # an older decision arriving late does not overwrite a newer one
        row.assignment = dict(assignment)
        row.assigned_sede = assignment["code"] if assignment["kind"] != "triage" else None
        row.assigned_region = assignment.get("region")
        row.assigned_queue = assignment.get("queue")
        row.assigned_kind = assignment["kind"]
        row.routed_at = decided_at
        row.updated_at = max(row.updated_at, decided_at)

    # ---- the official ----------------------------------------------------------------------

    def take_in_charge(self, official: Caller, now: datetime, comment: str | None = None) -> None:
        self._move(conversation.take_in_charge(self.facts), official, now, comment, STEP_TAKEN)
        self._record(
            events.REQUEST_TAKEN_IN_CHARGE,
            self._step(official, now, comment, sede=self.row.assigned_sede),
        )

    def answer(
        self,
        official: Caller,
        now: datetime,
        text: str,
        comment: str | None = None,
        *,
        close: bool = False,
        outcome: str | None = None,
        enable_booking: bool = False,
    ) -> uuid.UUID:
        """The sede answers (which takes the request in charge); with ``close`` it also
        closes with an outcome (and may enable booking). Returns the answer's message id."""
        facts = self.facts
        new_state = conversation.answer(facts)
        if close:
            conversation.close(facts, outcome)  # refused before anything changes
        message = self._write("answer", official, text, now)
        first = self.row.first_answer_at is None
        self.row.first_answer_at = self.row.first_answer_at or now
        self.row.answers_count += 1
        # answering and closing in one step: the comment goes with the closing, once
        self._move(new_state, official, now, None if close else comment, STEP_ANSWERED)
        self._record(
            events.REQUEST_ANSWERED,
            self._step(
                official,
                now,
                comment,
                message_id=message.id,
                answer_number=self.row.answers_count,
                first_answer=first,
            ),
        )
        if close:
            self._close(official, now, outcome, comment, enable_booking)
        return message.id

    def close(
        self,
        official: Caller,
        now: datetime,
        outcome: str | None,
        comment: str | None = None,
        enable_booking: bool = False,
    ) -> None:
        conversation.close(self.facts, outcome)
        self._close(official, now, outcome, comment, enable_booking)

    def _close(self, official: Caller, now: datetime, outcome: str, comment, enable_booking: bool) -> None:
        booking_possible = conversation.booking_possible_on_closing(self.facts, enable_booking)
        self.row.outcome = outcome.strip()
        self.row.booking_enabled = enable_booking
        self.row.closed_at = now
        self._move(STATE_CLOSED, official, now, comment, STEP_CLOSED)
        self._record(
            events.REQUEST_CLOSED,
            self._step(
                official,
                now,
                comment,
                outcome=self.row.outcome,
                booking_enabled=enable_booking,
                booking_possible=booking_possible,
            ),
        )

    def change_subject(
        self, catalog: Catalog, code: str, official: Caller, now: datetime, comment: str | None = None
    ) -> Subject:
        """ "Cambio oggetto per lavorazione": re-classify instead of asking for a new submission;
        the SLA follows the new subject and routing reconsiders the assignment."""
        row = self.row
        conversation.change_subject(self.facts, row.subject_code, code)
        subject = conversation.new_subject(catalog, row.channel, row.profile, code)
        old_subject = row.subject_code
        row.subject_code, row.catalog_version = subject.code, subject.catalog_version
        row.area, row.sla_days = subject.area, subject.sla_days
        row.updated_at = now
        # the state stays; the re-classification and its comment are part of the history
        self._history(
            row.state,
            row.state,
            official.sub,
            now,
            comment,
            step=STEP_SUBJECT_CHANGED,
            details={"old_subject": old_subject, "new_subject": subject.code},
        )
        self._record(
            events.REQUEST_SUBJECT_CHANGED,
            self._step(
                official,
                now,
                comment,
                old_subject=old_subject,
                new_subject=subject.code,
                catalog_version=subject.catalog_version,
                area=subject.area,
                sla_days=subject.sla_days,
                **self._routing_facts(),
            ),
        )
        return subject

    # ---- the requester ---------------------------------------------------------------------

    def follow_up(self, requester: Caller, now: datetime, text: str) -> uuid.UUID:
        """One of the further interactions after the first answer; returns its message id."""
        facts = self.facts
        used, reopens = conversation.add_followup(facts)
        message = self._write("followup", requester, text, now)
        self.row.followups_count = used
        self.row.updated_at = now
        if reopens:
            self.row.closed_at = None
            self._move(
                STATE_IN_PROGRESS, requester, now, "Riaperta dall'ulteriore interazione", STEP_REOPENED
            )
        self._record(
            events.REQUEST_FOLLOWUP_ADDED,
            self._step(
                requester,
                now,
                None,
                message_id=message.id,
                interactions_used=used,
                interactions_left=facts.max_followups - used,
                reopened=reopens,
            ),
        )
        return message.id

    def remind(self, requester: Caller, now: datetime, text: str | None = None) -> None:
        days = conversation.add_reminder(self.facts, now)
        self._write("reminder", requester, text or f"Sollecito: nessuna risposta dopo {days} giorni.", now)
        self.row.reminders_count += 1
        self.row.last_reminder_at = now
        self.row.updated_at = now
        self._record(events.REQUEST_REMINDED, self._step(requester, now, None, days_waited=days))

    # ---- outbound and contact center --------------------------------------------------------

    def reply_recipient(self, recipient: dict) -> dict:
        """Whom a sede's message in reply to this request goes to: whoever the request names,
        for what the sede did not say otherwise."""
        row = self.row
        known = {
            "matricola": row.matricola,
            "codice_fiscale": row.consulente_codice_fiscale,
            "patronato": {"ente": row.patronato_ente, "ufficio": row.patronato_ufficio}
            if row.patronato_ente
            else None,
            "contacts": row.contacts,
        }
        # the input schema fills what was not sent with None or {}: those are "not said" too
        return {**recipient, **{name: value for name, value in known.items() if not recipient.get(name)}}

    @classmethod
    def write_from_sede(
        cls,
        catalog: Catalog,
        protocol: str,
        official: Caller,
        sede: str | None,
        recipient: dict,
        subject: str,
        text: str,
        parent_id: uuid.UUID | None,
        now: datetime,
    ) -> Request:
        """A sede writes first to a company, an intermediary or a patronato, optionally in
        reply to a request (``parent_id``); ``recipient`` is already checked."""
        request = cls._outbound(
            catalog,
            protocol,
            origin=ORIGIN_SEDE,
            subject_code="comunicazione_sede",
            text=f"{subject}\n\n{text}",
            at=now,
            requester=official.sub,
            requester_role=official.role,
            recipient=recipient,
            sede=sede,
            parent_id=parent_id,
        )
        contacts = recipient.get("contacts") or {}
        request._record(
            events.OUTBOUND_MESSAGE_SENT,
            {
                "message_id": request.id,
                "request_id": parent_id,
                "sede": sede or "",
                "actor": official.sub,
                "recipient": {
                    "kind": recipient["kind"],
                    "matricola": recipient.get("matricola"),
                    "codice_fiscale": recipient.get("codice_fiscale"),
                    "patronato": recipient.get("patronato"),
                },
                "subject": subject,
                "contacts": {"email": contacts.get("email"), "sms": contacts.get("sms")},
                "sent_at": now,
            },
        )
        return request

    @classmethod
    def write_from_contact_center(
        cls, catalog: Catalog, protocol: str, message: dict, now: datetime
    ) -> Request:
        """An outbound contact-center message, in the history of the matricola or codice
        fiscale it names."""
        request = cls._outbound(
            catalog,
            protocol,
            origin=ORIGIN_CONTACT_CENTER,
            subject_code="comunicazione_contact_center",
            text=f"{message['subject']}\n\n{message['text']}",
            at=message["occurred_at"],
            requester=_external_sub("contact-center", message["sender"]),
            requester_role="contact_center",
            recipient={
                "matricola": message.get("matricola"),
                "codice_fiscale": message.get("codice_fiscale"),
            },
            sede=None,
            external_message_id=message["message_id"],
        )
        request._record_contact_center_message(message, now)
        return request

    @classmethod
    def _outbound(
        cls,
        catalog: Catalog,
        protocol: str,
        *,
        origin: str,
        subject_code: str,
        text: str,
        at: datetime,
        requester: str,
        requester_role: str,
        recipient: dict,
        sede: str | None,
        external_message_id: str | None = None,
        parent_id: uuid.UUID | None = None,
    ) -> Request:
        """A message that starts at an office: stored closed, never worked, never measured."""
        subject = catalog.find_active("comunicazioni", origin, subject_code)
        patronato = recipient.get("patronato") or {}
        request = cls(
            _new_row(
                id=uuid.uuid4(),
                protocol=protocol,
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
                patronato_ente=patronato.get("ente"),
                patronato_ufficio=patronato.get("ufficio"),
                contacts=recipient.get("contacts") or {},
                parent_id=parent_id,
                requester_sub=requester,
                requester_name="",
                requester_role=requester_role,
                state=STATE_CLOSED,
                assigned_sede=sede,
                assigned_queue=OUTBOUND_QUEUE if sede else None,
                assigned_kind="sede" if sede else None,
                assignment={
                    "kind": "sede",
                    "code": sede,
                    "name": "",
                    "reason": "comunicazione in uscita della sede",
                    "queue": OUTBOUND_QUEUE,
                }
                if sede
                else None,
                external_message_id=external_message_id,
                created_at=at,
                updated_at=at,
                closed_at=at,
            )
        )
        request._history(None, STATE_CLOSED, requester, at, step=STEP_SENT)
        return request

    def _record_contact_center_message(self, message: dict, now: datetime) -> None:
        self._record(
            events.CONTACT_CENTER_MESSAGE_RECORDED,
            {
                "message_id": message["message_id"],
                "kind": message["kind"],
                "matricola": message.get("matricola"),
                "codice_fiscale": message.get("codice_fiscale"),
                "recorded_at": now,
            },
        )

    # ---- history, thread, events -----------------------------------------------------------

    def _record(self, event_type: str, payload: dict) -> None:
        self.events.append(RecordedEvent(event_type, payload))

    def _step(self, actor: Caller, now: datetime, comment: str | None = None, **more) -> dict:
        return {
            "request_id": self.row.id,
            "protocol": self.row.protocol,
            "actor": actor.sub,
            "actor_role": actor.role,
            "at": now,
            "comment": comment,
            **more,
        }

    def _move(self, to_state: str, actor: Caller, now: datetime, comment: str | None, step: str) -> None:
        """Change the state; the step is recorded in the history when the state changes or
        when the official wrote a comment (msg 1986/2011: the requester sees the comments
        "inseriti dagli operatori di sede al momento della modifica dello stato"), so a
        comment given with an answer to a request already in charge is kept too."""
        if self.row.state != to_state or (comment and comment.strip()):
            self._history(self.row.state, to_state, actor.sub, now, comment, step=step)
            self.row.state = to_state
        self.row.updated_at = now

    def _history(
        self,
        from_state: str | None,
        to_state: str,
        actor: str,
        at: datetime,
        comment: str | None = None,
        *,
        step: str,
        details: dict | None = None,
    ) -> None:
        self.row.state_changes.append(
            models.StateChange(
                request_id=self.row.id,
                from_state=from_state,
                to_state=to_state,
                comment=comment,
                actor=actor,
                at=at,
                step=step,
                details=details,
            )
        )

    def _write(self, kind: str, author: Caller, text: str, now: datetime) -> models.Message:
        message = models.Message(
            id=uuid.uuid4(),
            request_id=self.row.id,
            kind=kind,
            author=author.sub,
            author_role=author.role,
            text=text,
            at=now,
        )
        self.row.messages.append(message)
        return message
