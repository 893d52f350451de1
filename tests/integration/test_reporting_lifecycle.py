"""Reporting's lifecycle projection and SLA snapshot on the real PostgreSQL test database.

Events arrive in any order and may be redelivered: the resulting facts must not depend on
either. Each test uses its own request ids (and its own sede code for snapshots), so tests
share the module's database without cleanup.
"""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.reporting import projections, views
from services.reporting.models import ContactCenterMessage, OutboundMessage
from services.reporting.service import ReportingService
from shared.clock import FixedClock
from shared.db import DatabaseAccess
from shared.errors import InvalidInput
from shared.events import make_event, parse_event

SUBMITTED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

HANDLERS = {
    "request_submitted": projections.record_submitted,
    "request_routed": projections.record_routed,
    "request_taken_in_charge": projections.record_taken_in_charge,
    "request_answered": projections.record_answered,
    "request_followup_added": projections.record_followup_added,
    "request_reminded": projections.record_reminded,
    "request_subject_changed": projections.record_subject_changed,
    "request_closed": projections.record_closed,
    "outbound_message_sent": projections.record_outbound_message,
    "contact_center_message_recorded": projections.record_contact_center_message,
}


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("reporting")


# ---- events ----------------------------------------------------------------------------------


def event(event_type, payload, producer="intake"):
    return parse_event(make_event(event_type, payload, producer=producer).to_message())


class Request:
    """Builds the events of one request, as intake and routing would publish them."""

    def __init__(
        self,
        sede="7000",
        origin="cassetto",
        subject="regolarita_contributiva",
        sla_days=5,
        submitted_at=SUBMITTED_AT,
    ):
        self.id = uuid.uuid4()
        self.protocol = f"COMBID.2026.{secrets.randbelow(10**8):08d}"
        self.sede, self.origin, self.subject, self.sla_days = sede, origin, subject, sla_days
        self.submitted_at = submitted_at

    def submitted(self):
        return event(
            "request_submitted",
            {
                "request_id": self.id,
                "protocol": self.protocol,
                "origin": self.origin,
                "channel": self.origin,
                "profile": "intermediario",
                "subject": self.subject,
                "catalog_version": "cassetto-2018",
                "area": "soggetto_contribuente",
                "sla_days": self.sla_days,
                "matricola": "7000123456",
                "contacts": {"email": None, "sms": None},
                "requester": "cdl-1",
                "submitted_at": self.submitted_at,
            },
        )

    def routed(self):
        assignment = {
            "kind": "sede",
            "code": self.sede,
            "name": f"Sede {self.sede}",
            "reason": "matricola",
            "queue": "contributi",
        }
        return event(
            "request_routed",
            {
                "request_id": self.id,
                "assignment": assignment,
                "rule": "matricola_to_sede",
                "reference_version": "sample-1",
                "decided_at": self.submitted_at + timedelta(seconds=5),
            },
            producer="routing",
        )

    def step(self, event_type, days, **fields):
        return event(
            event_type,
            {
                "request_id": self.id,
                "protocol": self.protocol,
                "actor": "op-1",
                "actor_role": "sede_operatore",
                "at": self.submitted_at + timedelta(days=days),
                "comment": None,
                **fields,
            },
        )

    def taken(self, days=1):
        return self.step("request_taken_in_charge", days, sede=self.sede)

    def answered(self, days, number=1):
        return self.step(
            "request_answered", days, message_id=uuid.uuid4(), answer_number=number, first_answer=number == 1
        )

    def followup(self, days, used):
        return self.step(
            "request_followup_added",
            days,
            message_id=uuid.uuid4(),
            interactions_used=used,
            interactions_left=2 - used,
        )

    def reminded(self, days):
        return self.step("request_reminded", days, days_waited=days)

    def subject_changed(self, days, new_subject, sla_days):
        return self.step(
            "request_subject_changed",
            days,
            old_subject=self.subject,
            new_subject=new_subject,
            catalog_version="cassetto-2018",
            area="contributi",
            sla_days=sla_days,
        )

    def closed(self, days, outcome="accolta", booking_enabled=False):
        return self.step(
            "request_closed", days, outcome=outcome, booking_enabled=booking_enabled, comment="Definita."
        )


def apply(sessions, ev):
    """What the service entrypoint does: the projection inside the inbox's unit of work."""
    return DatabaseAccess(sessions, f"reporting.on_{ev.type}").apply_once(ev, HANDLERS[ev.type])


def fact(sessions, request):
    with sessions() as session:
        return views.request_fact(session, str(request.id))


def days(n):
    return (SUBMITTED_AT + timedelta(days=n)).isoformat()


# ---- lifecycle ---------------------------------------------------------------------------------


def whole_life(request):
    return [
        request.submitted(),
        request.routed(),
        request.taken(1),
        request.answered(2),
        request.followup(3, used=1),
        request.reminded(4),
        request.answered(5, number=2),
        request.followup(6, used=2),
        request.closed(7, booking_enabled=True),
    ]


EXPECTED_AFTER_WHOLE_LIFE = {
    "state": "closed",
    "taken_at": days(1),
    "first_answer_at": days(2),
    "answers": 2,
    "followups": 2,
    "reminders": 1,
    "closed_at": days(7),
    "outcome": "accolta",
    "booking_enabled": True,
    "last_event_at": days(7),
    "subject": "regolarita_contributiva",
    "sla_days": 5,
    "sede_code": "7000",
    "submitted_at": SUBMITTED_AT.isoformat(),
}


@pytest.mark.parametrize("order", ["as_published", "reversed", "shuffled"])
def test_whole_lifecycle_gives_the_same_facts_in_any_order(sessions, order):
    request = Request()
    events = whole_life(request)
    if order == "reversed":
        events.reverse()
    elif order == "shuffled":
        random.Random(7).shuffle(events)

    for ev in events:
        assert apply(sessions, ev) is True

    row = fact(sessions, request)
    assert {name: row[name] for name in EXPECTED_AFTER_WHOLE_LIFE} == EXPECTED_AFTER_WHOLE_LIFE
    assert row["protocol"] == request.protocol


def test_redelivered_events_change_nothing(sessions):
    request = Request()
    events = whole_life(request)
    for ev in events:
        apply(sessions, ev)
    before = fact(sessions, request)

    assert [apply(sessions, ev) for ev in events] == [False] * len(events)

    assert fact(sessions, request) == before
    assert before["reminders"] == 1


def test_a_late_taken_in_charge_does_not_reopen_a_closed_request(sessions):
    request = Request()
    for ev in (request.submitted(), request.closed(3), request.taken(1)):
        apply(sessions, ev)

    row = fact(sessions, request)
    assert row["state"] == "closed"
    assert row["taken_at"] == days(1)  # the fact is kept, the state does not go back
    assert row["last_event_at"] == days(3)


def test_an_answer_takes_an_untaken_request_in_charge(sessions):
    request = Request()
    for ev in (request.submitted(), request.answered(2)):
        apply(sessions, ev)

    row = fact(sessions, request)
    assert (row["state"], row["taken_at"], row["first_answer_at"], row["answers"]) == (
        "in_progress",
        days(2),
        days(2),
        1,
    )


def test_an_answer_arriving_after_the_closing_does_not_reopen(sessions):
    # intake's "answer and close" publishes both at the same instant, on different queues
    request = Request()
    for ev in (request.submitted(), request.closed(2), request.answered(2)):
        apply(sessions, ev)

    assert fact(sessions, request)["state"] == "closed"


def test_a_late_submission_does_not_reopen_a_request_in_progress(sessions):
    request = Request()
    apply(sessions, request.taken(1))
    assert fact(sessions, request)["state"] == "in_progress"

    apply(sessions, request.submitted())

    assert fact(sessions, request)["state"] == "in_progress"


def test_closed_before_submitted_is_not_counted_until_the_submission_arrives(sessions):
    request = Request()
    with sessions() as session:
        before = views.count_by_state(session)

    apply(sessions, request.closed(2))
    with sessions() as session:
        assert views.count_by_state(session) == before

    apply(sessions, request.submitted())
    with sessions() as session:
        assert views.count_by_state(session)["closed"] == before["closed"] + 1
    assert fact(sessions, request)["state"] == "closed"


def test_a_second_closing_changes_nothing(sessions):
    request = Request()
    for ev in (
        request.submitted(),
        request.closed(3, outcome="accolta"),
        request.closed(5, outcome="respinta"),
    ):
        apply(sessions, ev)

    row = fact(sessions, request)
    assert (row["closed_at"], row["outcome"]) == (days(3), "accolta")


@pytest.mark.parametrize("change_first", [False, True], ids=["submitted_first", "change_first"])
def test_the_threshold_follows_the_new_subject_in_either_order(sessions, change_first):
    request = Request(subject="regolarita_contributiva", sla_days=5)
    events = [request.submitted(), request.subject_changed(2, "f24", 25)]
    if change_first:
        events.reverse()

    for ev in events:
        apply(sessions, ev)

    row = fact(sessions, request)
    assert (row["subject"], row["sla_days"], row["area"]) == ("f24", 25, "contributi")
    assert row["origin"] == "cassetto" and row["subject_changed_at"] == days(2)


def test_an_older_change_of_subject_arriving_late_is_ignored(sessions):
    request = Request()
    newer, older = request.subject_changed(4, "f24", 25), request.subject_changed(2, "dm_uniemens", 10)
    for ev in (request.submitted(), newer, older):
        apply(sessions, ev)

    assert (fact(sessions, request)["subject"], fact(sessions, request)["sla_days"]) == ("f24", 25)


# ---- messages ----------------------------------------------------------------------------------


def test_outbound_and_contact_center_messages_are_recorded_once(sessions):
    outbound = event(
        "outbound_message_sent",
        {
            "message_id": uuid.uuid4(),
            "request_id": None,
            "sede": "7000",
            "actor": "op-1",
            "recipient": {"kind": "azienda", "matricola": "7000123456"},
            "subject": "Verifica F24",
            "contacts": {"email": "azienda@example.it"},
            "sent_at": SUBMITTED_AT,
        },
    )
    fax = event(
        "contact_center_message_recorded",
        {
            "message_id": f"fax-{uuid.uuid4()}",
            "kind": "fax_inbound",
            "codice_fiscale": "RSSMRA85T10A562S",
            "recorded_at": SUBMITTED_AT,
        },
    )

    for ev in (outbound, fax, outbound, fax):
        apply(sessions, ev)

    with sessions() as session:
        sent = session.get(OutboundMessage, outbound.payload["message_id"])
        received = session.scalars(
            select(ContactCenterMessage).where(ContactCenterMessage.message_id == fax.payload["message_id"])
        ).all()
    assert (sent.sede, sent.recipient_kind, sent.matricola, sent.request_id) == (
        "7000",
        "azienda",
        "7000123456",
        None,
    )
    assert sent.sent_at == SUBMITTED_AT
    (recorded,) = received
    assert (recorded.kind, recorded.codice_fiscale, recorded.matricola) == (
        "fax_inbound",
        "RSSMRA85T10A562S",
        None,
    )


# ---- SLA snapshot ------------------------------------------------------------------------------


def seed_sede(sessions, sede):
    """One sede's requests, subject with 5 days; the snapshot is taken 20 days after submission."""

    def request(**kwargs):
        return Request(sede=sede, **kwargs)

    stories = {
        "closed_in_time": (request(), lambda r: [r.taken(1), r.closed(5)]),
        "closed_late": (request(), lambda r: [r.closed(9)]),
        "open_late": (request(), lambda r: [r.taken(2)]),
        "open_fresh": (request(submitted_at=SUBMITTED_AT + timedelta(days=18)), lambda r: []),
        "patronato_open_late": (request(origin="patronato"), lambda r: []),
        "moved_to_25_days": (request(), lambda r: [r.subject_changed(1, "f24", 25), r.closed(12)]),
    }
    for made, later_events in stories.values():
        for ev in [made.routed(), made.submitted(), *later_events(made)]:
            apply(sessions, ev)
    return SUBMITTED_AT + timedelta(days=20)


def test_sla_snapshot_per_subject_for_one_sede(sessions, unique):
    sede = f"T{unique}"
    now = seed_sede(sessions, sede)

    with sessions() as session:
        snapshot = views.sla_snapshot(session, now, sede=sede)

    f24, durc = snapshot["subjects"]  # sorted by subject
    assert (durc["subject"], durc["sla_days"]) == ("regolarita_contributiva", 5)
    assert (durc["open"], durc["closed"], durc["closed_within_sla"], durc["open_past_sla"]) == (3, 2, 1, 2)
    assert durc["threshold_indicator"] == pytest.approx(1 / 4)
    assert durc["backlog_index"] == pytest.approx(1 / 3)
    assert durc["average_closing_days"] == pytest.approx(7.0)
    assert (f24["subject"], f24["sla_days"], f24["closed_within_sla"], f24["threshold_indicator"]) == (
        "f24",
        25,
        1,
        1.0,
    )
    assert f24["backlog_index"] is None
    assert (
        snapshot["total"]["closed"] == 3 and snapshot["sede"] == sede and snapshot["as_of"] == now.isoformat()
    )


def test_sla_snapshot_filters_by_origin(sessions, unique):
    sede = f"T{unique}"
    now = seed_sede(sessions, sede)

    with sessions() as session:
        snapshot = views.sla_snapshot(session, now, sede=sede, origin="patronato")

    (only,) = snapshot["subjects"]
    assert (only["open"], only["open_past_sla"], only["threshold_indicator"], only["backlog_index"]) == (
        1,
        1,
        0.0,
        0.0,
    )


def test_sla_snapshot_rpc_takes_the_instant_and_refuses_bad_input(sessions, unique):
    sede = f"T{unique}"
    now = seed_sede(sessions, sede)
    service = worker_factory(
        ReportingService, db=DatabaseAccess(sessions, "reporting.rpc"), clock=FixedClock(now)
    )

    asked = service.sla_snapshot(sede=sede, now_iso=now.isoformat())
    from_clock = service.sla_snapshot(sede=sede)

    assert asked == from_clock
    assert service.sla_snapshot(sede=f"none-{unique}")["subjects"] == []
    with pytest.raises(InvalidInput) as bad_instant:
        service.sla_snapshot(now_iso="2026-11-23T10:00:00")  # no time zone
    assert bad_instant.value.errors[0]["field"] == "now"
    with pytest.raises(InvalidInput) as bad_origin:
        service.sla_snapshot(origin="piccione")
    assert bad_origin.value.errors[0]["code"] == "unknown_origin"


def test_service_entrypoints_apply_each_lifecycle_event(sessions):
    request = Request()
    service = worker_factory(ReportingService, db=DatabaseAccess(sessions, "reporting.entrypoints"))

    for ev in whole_life(request):
        getattr(service, f"on_{ev.type}")(ev)

    assert service.request_fact(str(request.id))["state"] == "closed"
