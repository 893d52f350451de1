"""Reporting projections: one plain function of (session, event) per event type.

Events may arrive in any order (different queues, retries), so every projection is an
upsert keyed by request id: whichever event comes first creates the row, the others fill
in their own columns and leave the rest alone. Each column merges in a way that does not
depend on arrival order: earliest instant, latest instant, highest counter, a state that
never moves backwards.
"""

from __future__ import annotations

from sqlalchemy import case, func, literal, or_

from services.reporting.models import ContactCenterMessage, OutboundMessage, RequestFact, Sede, SubjectChange
from shared.upsert import insert, merge_row  # cached compiled SQL (shared/upsert.py)
from shared.vocabulary import STATE_CLOSED, STATE_IN_PROGRESS, STATE_OPEN, STATES

SUBJECT_FACTS = ("subject", "catalog_version", "area", "sla_days")  # what a change of subject replaces

FACTS = RequestFact.__table__


# ---- merging one event into a row ----------------------------------------------------------


def _upsert_fact(session, request_id, values: dict, merge, where=None) -> None:
    """Insert ``values`` as a new row, or set ``merge(incoming)`` on the existing one (built
    from column names only: ``shared.upsert.merge_row``)."""
    merge_row(session, FACTS, {"request_id": request_id}, values, merge, where)


def _earliest(name: str, incoming):
    return func.least(FACTS.c[name], incoming[name])  # LEAST/GREATEST skip NULLs


def _latest(name: str, incoming):
    return func.greatest(FACTS.c[name], incoming[name])


def _moved_forward_to(new_state: str):
    """The row's state after ``new_state`` arrives: never backwards (a late "taken in charge"
    after "closed" leaves it closed; STATES is the only order a request moves in)."""
    rank = case({state: position for position, state in enumerate(STATES)}, value=FACTS.c.state, else_=-1)
    return case((rank < STATES.index(new_state), literal(new_state)), else_=FACTS.c.state)


def _step_values(payload: dict) -> dict:
    """What every lifecycle event tells: the protocol and when it happened."""
    return {"protocol": payload["protocol"], "last_event_at": payload["at"]}


def _step_merge(incoming) -> dict:
    return {
        "protocol": func.coalesce(FACTS.c.protocol, incoming.protocol),
        "last_event_at": _latest("last_event_at", incoming),
    }


# ---- event handlers --------------------------------------------------------------------------


def record_submitted(session, event) -> None:
    """``request_submitted``: the request's own facts; the state starts ``open``."""
    payload = event.payload
    facts = {name: payload[name] for name in ("protocol", "origin", "channel", "submitted_at")}
    subject = {name: payload[name] for name in SUBJECT_FACTS}

    def merge(incoming):
        return {
            **{name: incoming[name] for name in facts},
            # a change of subject seen before the submission is newer than it: keep the change
            **{
                name: case((FACTS.c.subject_changed_at.is_(None), incoming[name]), else_=FACTS.c[name])
                for name in subject
            },
            # a row created by an earlier-arriving later event keeps the state that event set
            "state": func.coalesce(FACTS.c.state, STATE_OPEN),
            "last_event_at": _latest("last_event_at", incoming),
        }

    values = {**facts, **subject, "state": STATE_OPEN, "last_event_at": payload["submitted_at"]}
    _upsert_fact(session, payload["request_id"], values, merge)


def record_routed(session, event) -> None:
    """``request_routed``: where the request went, and the region of that structure; an older
    decision never overwrites a newer one. The structure joins the sedi of the drill-down."""
    payload = event.payload
    assignment = payload["assignment"]
    routing = {
        "assignment_kind": assignment["kind"],
        "sede_code": assignment["code"],
        "sede_name": assignment["name"],
        "region": assignment.get("region"),
        "routed_at": payload["decided_at"],
    }
    if assignment["kind"] != "triage":
        _record_sede(session, assignment, payload["decided_at"])
    _upsert_fact(
        session,
        payload["request_id"],
        routing,
        lambda incoming: {name: incoming[name] for name in routing},
        where=lambda incoming: or_(FACTS.c.routed_at.is_(None), FACTS.c.routed_at <= incoming.routed_at),
    )


def record_taken_in_charge(session, event) -> None:
    """``request_taken_in_charge``: ``in_progress`` unless already closed; first time taken."""
    payload = event.payload
    values = {**_step_values(payload), "state": STATE_IN_PROGRESS, "taken_at": payload["at"]}
    _upsert_fact(
        session,
        payload["request_id"],
        values,
        lambda incoming: {
            **_step_merge(incoming),
            "state": _moved_forward_to(STATE_IN_PROGRESS),
            "taken_at": _earliest("taken_at", incoming),
        },
    )


def record_answered(session, event) -> None:
    """``request_answered``: the first answer is the earliest one; answers counted by number.

    Intake takes an untaken request in charge when it is answered, without a separate
    ``request_taken_in_charge``: the answer moves the state to ``in_progress`` too.
    """
    payload = event.payload
    values = {
        **_step_values(payload),
        "state": STATE_IN_PROGRESS,
        "taken_at": payload["at"],
        "first_answer_at": payload["at"],
        "answers": payload["answer_number"],
    }
    _upsert_fact(
        session,
        payload["request_id"],
        values,
        lambda incoming: {
            **_step_merge(incoming),
            "state": _moved_forward_to(STATE_IN_PROGRESS),
            "taken_at": _earliest("taken_at", incoming),
            "first_answer_at": _earliest("first_answer_at", incoming),
            "answers": _latest("answers", incoming),
        },
    )


def record_followup_added(session, event) -> None:
    """``request_followup_added``: further interactions used so far (the event counts them)."""
    payload = event.payload
    values = {**_step_values(payload), "followups": payload["interactions_used"]}
    _upsert_fact(
        session,
        payload["request_id"],
        values,
        lambda incoming: {**_step_merge(incoming), "followups": _latest("followups", incoming)},
    )


def record_reminded(session, event) -> None:
    """``request_reminded``: one more sollecito (the inbox keeps a redelivery from counting twice)."""
    payload = event.payload
    values = {**_step_values(payload), "reminders": 1}
    _upsert_fact(
        session,
        payload["request_id"],
        values,
        lambda incoming: {**_step_merge(incoming), "reminders": FACTS.c.reminders + 1},
    )


def record_subject_changed(session, event) -> None:
    """``request_subject_changed``: the new subject, area and threshold (the SLA follows the
    subject); a change older than the one already applied changes nothing. Every change is
    kept too, for the report on changes of subject (from which subject to which)."""
    payload = event.payload
    subject = {
        "subject": payload["new_subject"],
        "catalog_version": payload["catalog_version"],
        "area": payload["area"],
        "sla_days": payload["sla_days"],
    }
    values = {**_step_values(payload), **subject, "subject_changed_at": payload["at"]}
    change = insert(SubjectChange).values(
        request_id=payload["request_id"],
        changed_at=payload["at"],
        from_subject=payload["old_subject"],
        to_subject=payload["new_subject"],
        to_sla_days=payload["sla_days"],
    )
    session.execute(change.on_conflict_do_nothing())
    _upsert_fact(
        session,
        payload["request_id"],
        values,
        lambda incoming: {
            **_step_merge(incoming),
            **{name: incoming[name] for name in (*subject, "subject_changed_at")},
        },
        where=lambda incoming: or_(
            FACTS.c.subject_changed_at.is_(None), FACTS.c.subject_changed_at <= incoming.subject_changed_at
        ),
    )


def _record_sede(session, assignment: dict, decided_at) -> None:
    """The structure as the latest decision names it (name, region, kind)."""
    statement = insert(Sede).values(
        code=assignment["code"],
        name=assignment["name"],
        region=assignment.get("region"),
        kind=assignment["kind"],
        decided_at=decided_at,
    )
    incoming = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[Sede.code],
        set_={name: incoming[name] for name in ("name", "region", "kind", "decided_at")},
        where=Sede.decided_at <= incoming.decided_at,
    )
    session.execute(statement)


def record_closed(session, event) -> None:
    """``request_closed``: closed for good, with outcome and booking; a request closes once,
    so a second closing (which intake does not allow) changes nothing."""
    payload = event.payload
    closing = {
        "closed_at": payload["at"],
        "outcome": payload["outcome"],
        "booking_enabled": payload["booking_enabled"],
    }
    _upsert_fact(
        session,
        payload["request_id"],
        {**_step_values(payload), **closing, "state": STATE_CLOSED},
        lambda incoming: {
            **_step_merge(incoming),
            **{name: incoming[name] for name in closing},
            "state": _moved_forward_to(STATE_CLOSED),
        },
        where=lambda incoming: FACTS.c.closed_at.is_(None),
    )


def record_outbound_message(session, event) -> None:
    """``outbound_message_sent``: a proactive message from a sede."""
    payload = event.payload
    recipient = payload["recipient"]
    statement = insert(OutboundMessage).values(
        message_id=payload["message_id"],
        request_id=payload["request_id"],
        sede=payload["sede"],
        recipient_kind=recipient["kind"],
        matricola=recipient["matricola"],
        codice_fiscale=recipient["codice_fiscale"],
        sent_at=payload["sent_at"],
    )
    # A message is sent once: a second copy has nothing to add.
    session.execute(statement.on_conflict_do_nothing(index_elements=[OutboundMessage.message_id]))


def record_contact_center_message(session, event) -> None:
    """``contact_center_message_recorded``: an inbound fax or outbound contact-center message."""
    payload = event.payload
    statement = insert(ContactCenterMessage).values(
        message_id=payload["message_id"],
        kind=payload["kind"],
        matricola=payload["matricola"],
        codice_fiscale=payload["codice_fiscale"],
        recorded_at=payload["recorded_at"],
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=[ContactCenterMessage.message_id]))
