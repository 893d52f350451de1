"""The Notifiche inbox, the preferences, the new notices (taken in charge, answered,
reassigned) and the contact fallbacks, on notify's real test database.

Every test makes its own requesters, offices and matricole, so tests share the database."""

from __future__ import annotations

import functools
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.notify import use_cases, views
from services.notify.models import Delivery, PatronatoOffice, RegionalDirectorate, RequestContact
from services.notify.service import NotifyService
from shared import access
from shared.access import Caller
from shared.clock import FixedClock
from shared.db import DatabaseAccess
from shared.errors import Forbidden, NotFound
from shared.events import (
    APPOINTMENT_BOOKED,
    REQUEST_ANSWERED,
    REQUEST_ROUTED,
    REQUEST_SUBMITTED,
    REQUEST_TAKEN_IN_CHARGE,
    make_event,
    parse_event,
)
from tests.integration.helpers import notify_and_dispatch

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ROMA = {
    "kind": "sede",
    "code": "7000",
    "name": "Direzione provinciale di Roma",
    "reason": "CAP",
    "queue": "pensioni",
}
BARI = {
    "kind": "sede",
    "code": "0704",
    "name": "Direzione provinciale di Bari",
    "reason": "CAP",
    "queue": "pensioni",
}
TRIAGE = {"kind": "triage", "code": "triage", "name": "Triage", "reason": "nessuna regola", "queue": "triage"}


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("notify")


class FakeMailer:
    def __init__(self):
        self.sent = []

    def send(self, envelope):
        self.sent.append(envelope)


def code() -> str:
    return secrets.token_hex(3)


def evt(event_type, payload, producer="intake"):
    return parse_event(make_event(event_type, payload, producer=producer).to_message())


def submitted(
    *,
    requester=None,
    ente=None,
    ufficio="0001",
    matricola=None,
    email="mario@example.it",
    requester_email=None,
):
    patronato = {"ente": ente, "ufficio": ufficio} if ente else None
    payload = {
        "request_id": uuid.uuid4(),
        "protocol": f"COMBID.2026.{secrets.randbelow(10**8):08d}",
        "origin": "patronato" if ente else "cassetto",
        "channel": "combipat" if ente else "cassetto",
        "profile": "operatore_generico" if ente else "azienda",
        "subject": "sollecito_domanda",
        "catalog_version": "combipat-2021",
        "area": "pensioni",
        "sla_days": 10,
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"} if ente else None,
        "matricola": matricola,
        "patronato": patronato,
        "contacts": {"email": email, "sms": None},
        "requester": requester or f"op-{code()}",
        "submitted_at": NOW,
        "requester_email": requester_email,
    }
    return evt(REQUEST_SUBMITTED, payload)


def routed(request_id, assignment=ROMA, previous=None, manual=False):
    payload = {
        "request_id": request_id,
        "assignment": assignment,
        "rule": "cap_to_sede",
        "reference_version": "sample-1",
        "decided_at": NOW + timedelta(seconds=5),
        "manual": manual,
        "previous": previous,
    }
    return evt(REQUEST_ROUTED, payload, producer="routing")


def step(event_type, request_id, **extra):
    payload = {
        "request_id": request_id,
        "protocol": "COMBID.2026.99999999",
        "actor": "off-1",
        "actor_role": "sede_operatore",
        "at": NOW + timedelta(hours=2),
        "comment": None,
        **extra,
    }
    return evt(event_type, payload)


HANDLERS = {
    REQUEST_SUBMITTED: use_cases.notify_protocol_registered,
    REQUEST_ROUTED: use_cases.notify_request_routed,
    REQUEST_TAKEN_IN_CHARGE: use_cases.notify_request_taken_in_charge,
    REQUEST_ANSWERED: use_cases.notify_request_answered,
    APPOINTMENT_BOOKED: use_cases.notify_appointment_booked,
}


def apply(sessions, event, mailer=None):
    handler = HANDLERS[event.type]
    mailer = mailer or FakeMailer()
    notify_and_dispatch(sessions, handler.__name__, handler, event, {"email": mailer}, FixedClock(NOW))
    return mailer


def patronato(ente, ufficio="0001", role="patronato_operatore", sub=None):
    return Caller(sub=sub or f"op-{code()}", role=role, patronato=ente, ufficio=ufficio)


def inbox(sessions, caller, **filters):
    with sessions() as session:
        return views.list_notices(session, access.notice_scope(caller), caller.sub, filters)


def email_deliveries(sessions, request_id):
    with sessions() as session:
        return session.scalars(
            select(Delivery)
            .where(Delivery.request_id == request_id, Delivery.channel == "email")
            .order_by(Delivery.created_at, Delivery.template)
        ).all()


def test_a_patronato_offices_notices_are_listed_to_its_people_and_nobody_else(sessions):
    ente = code()
    writer = patronato(ente, sub=f"op-{code()}")
    submission = submitted(requester=writer.sub, ente=ente)
    apply(sessions, submission)
    apply(sessions, routed(submission.payload["request_id"]))

    listed = inbox(sessions, writer)
    assert [item["kind"] for item in listed["items"]] == ["request_routed", "protocol_registered"]
    assert (listed["total"], listed["unread"]) == (2, 2)
    first = listed["items"][1]
    assert first["protocol"] == submission.payload["protocol"]
    assert first["title"] == f"Richiesta protocollata n. {submission.payload['protocol']}"
    assert first["text"].startswith("INPS: la richiesta n.") and first["read"] is False

    colleague = patronato(ente, role="patronato_admin")
    assert inbox(sessions, colleague)["total"] == 2
    assert inbox(sessions, patronato(ente, ufficio="0002"))["total"] == 0
    assert inbox(sessions, patronato(code()))["total"] == 0


def test_read_and_unread_are_each_readers_own(sessions):
    ente = code()
    writer, colleague = patronato(ente), patronato(ente)
    submission = submitted(requester=writer.sub, ente=ente)
    apply(sessions, submission)
    apply(sessions, routed(submission.payload["request_id"]))
    newest, oldest = inbox(sessions, writer)["items"]

    with sessions.begin() as session:
        read = use_cases.mark_read(session, access.notice_scope(writer), writer.sub, oldest["id"], NOW)
    assert (read["read"], read["read_at"]) == (True, NOW.isoformat())
    assert inbox(sessions, writer)["unread"] == 1
    assert [item["id"] for item in inbox(sessions, writer, unread=True)["items"]] == [newest["id"]]
    assert inbox(sessions, colleague)["unread"] == 2

    with sessions.begin() as session:
        done = use_cases.mark_all_read(session, access.notice_scope(colleague), colleague.sub, NOW)
    assert done == {"marked": 2, "unread": 0}
    with sessions.begin() as session:  # again: nothing left to mark, and marking twice is harmless
        assert (
            use_cases.mark_all_read(session, access.notice_scope(colleague), colleague.sub, NOW)["marked"]
            == 0
        )
        use_cases.mark_read(session, access.notice_scope(writer), writer.sub, oldest["id"], NOW)
    assert inbox(sessions, writer)["unread"] == 1


def test_a_notice_nobody_showed_you_cannot_be_marked(sessions):
    ente = code()
    submission = submitted(ente=ente)
    apply(sessions, submission)
    (notice,) = inbox(sessions, patronato(ente))["items"]
    stranger = patronato(code())

    with sessions.begin() as session, pytest.raises(NotFound) as refused:
        use_cases.mark_read(session, access.notice_scope(stranger), stranger.sub, notice["id"], NOW)
    assert refused.value.code == "notification_not_found"
    with sessions.begin() as session, pytest.raises(NotFound):
        use_cases.mark_read(session, access.notice_scope(stranger), stranger.sub, "not-a-uuid", NOW)


def test_officials_and_directors_have_no_inbox():
    for caller in (
        Caller(sub="u", role="sede_operatore", sede="7000", groups=("APP_FEA_COMBID",)),
        Caller(sub="d", role="direttore", scope="national"),
        Caller(sub="a", role="admin"),
    ):
        with pytest.raises(Forbidden):
            access.notice_scope(caller)


def test_a_companys_notices_reach_every_intermediary_delegated_for_its_matricola(sessions):
    matricola = f"{secrets.randbelow(10**10):010d}"
    apply(sessions, submitted(matricola=matricola))

    delegated = Caller(sub=f"int-{code()}", role="intermediario", matricole=(matricola,))
    other = Caller(sub=f"int-{code()}", role="intermediario", matricole=("0000000001",))
    assert inbox(sessions, delegated)["total"] == 1
    assert inbox(sessions, other)["total"] == 0


def test_the_kind_filter_and_pages(sessions):
    ente = code()
    writer = patronato(ente)
    for _ in range(3):
        apply(sessions, submitted(requester=writer.sub, ente=ente))
    page = inbox(sessions, writer, kind="protocol_registered", page=2, page_size=2)
    assert (page["total"], len(page["items"]), page["page"]) == (3, 1, 2)
    assert inbox(sessions, writer, kind="request_closed")["items"] == []


def test_a_triaged_request_is_told_when_taken_in_charge(sessions):
    ente = code()
    writer = patronato(ente)
    submission = submitted(requester=writer.sub, ente=ente)
    request_id = submission.payload["request_id"]
    apply(sessions, submission)
    triage_mailer = apply(sessions, routed(request_id, TRIAGE))
    assert "Riceverà un nuovo avviso quando sarà" in triage_mailer.sent[0].body

    mailer = apply(sessions, step(REQUEST_TAKEN_IN_CHARGE, request_id, sede="7000"))
    (sent,) = mailer.sent
    assert sent.subject == f"Richiesta n. {submission.payload['protocol']} presa in carico"
    assert "dalla sede INPS con codice 7000" in sent.body
    assert "<html" in sent.html

    answered = apply(
        sessions,
        step(REQUEST_ANSWERED, request_id, message_id=uuid.uuid4(), answer_number=1, first_answer=True),
    )
    assert answered.sent[0].subject == f"Risposta alla richiesta n. {submission.payload['protocol']}"
    kinds = [item["kind"] for item in inbox(sessions, writer)["items"]]
    assert kinds == ["request_answered", "request_taken_in_charge", "request_routed", "protocol_registered"]


def test_a_reassignment_tells_the_requester_only_when_the_sede_changed(sessions):
    submission = submitted(ente=code())
    request_id = submission.payload["request_id"]
    apply(sessions, submission)
    apply(sessions, routed(request_id, ROMA))

    same_sede = apply(
        sessions, routed(request_id, {**ROMA, "queue": "soggetto_contribuente"}, ROMA, manual=True)
    )
    assert same_sede.sent == []
    moved = apply(sessions, routed(request_id, BARI, ROMA, manual=True))
    (sent,) = moved.sent
    assert sent.subject.endswith("assegnata a un'altra sede")
    assert "Direzione provinciale di Bari (codice 0704)" in sent.body
    templates = [d.template for d in email_deliveries(sessions, request_id)]
    assert sorted(templates) == ["protocol_registered", "request_reassigned", "request_routed"]


def test_preferences_switch_a_channel_off_and_the_inbox_still_lists(sessions):
    ente = code()
    writer = patronato(ente)
    with sessions.begin() as session:
        chosen = use_cases.set_preferences(
            session, writer.sub, [{"kind": "request_routed", "email": False, "sms": True}], NOW
        )
    routed_choice = next(item for item in chosen["preferences"] if item["kind"] == "request_routed")
    assert (routed_choice["email"], routed_choice["sms"], routed_choice["channels"]) == (
        False,
        True,
        ["email", "sms"],
    )
    answered_choice = next(item for item in chosen["preferences"] if item["kind"] == "request_answered")
    assert (answered_choice["email"], answered_choice["channels"]) == (True, ["email"])

    submission = submitted(requester=writer.sub, ente=ente)
    apply(sessions, submission)
    mailer = apply(sessions, routed(submission.payload["request_id"]))

    assert mailer.sent == []
    routed_delivery = [
        d
        for d in email_deliveries(sessions, submission.payload["request_id"])
        if d.template == "request_routed"
    ]
    assert [(d.status, d.error) for d in routed_delivery] == [("skipped", use_cases.SWITCHED_OFF)]
    assert [item["kind"] for item in inbox(sessions, writer)["items"]][0] == "request_routed"

    with sessions.begin() as session:  # and back on: the choice is replaced, not added
        use_cases.set_preferences(
            session, writer.sub, [{"kind": "request_routed", "email": True, "sms": True}], NOW
        )
    with sessions() as session:
        assert all(item["email"] for item in views.preferences_of(session, writer.sub)["preferences"])


def test_without_an_address_in_the_request_the_tokens_then_the_offices(sessions):
    ente = code()
    with sessions.begin() as session:
        session.add(
            PatronatoOffice(ente=ente, ufficio="0001", name="Ufficio", email=f"ufficio.{ente}@pat.example")
        )

    from_token = submitted(ente=ente, email=None, requester_email="operatore@pat.example")
    from_office = submitted(ente=ente, email=None)
    nowhere = submitted(ente=code(), email=None)
    for submission in (from_token, from_office, nowhere):
        apply(sessions, submission)

    with sessions() as session:

        def address(submission):
            return session.get(RequestContact, submission.payload["request_id"]).email

        assert address(from_token) == "operatore@pat.example"
        assert address(from_office) == f"ufficio.{ente}@pat.example"
        assert address(nowhere) is None
    (skipped,) = email_deliveries(sessions, nowhere.payload["request_id"])
    assert (skipped.status, skipped.error) == ("skipped", use_cases.NO_EMAIL)


def test_a_direct_booking_is_listed_to_whoever_booked(sessions):
    booker = patronato(code())
    start = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    payload = {
        "booking_id": uuid.uuid4(),
        "request_id": None,
        "punto_id": "0704-S",
        "punto_name": "Punto di Bari",
        "punto_address": "Via della Sede, Bari",
        "sede": "0704",
        "region": "Puglia",
        "modality": "in_person",
        "topic": "pensioni",
        "slot_start": start,
        "slot_end": start + timedelta(minutes=30),
        "booked_by": booker.sub,
        "booked_by_role": "patronato_operatore",
        "contact": {"email": "op@pat.example", "phone": None},
        "at": NOW,
        "codici_fiscali": ["RSSMRA85T10A562S"],
        "room_url": None,
        "rescheduled_from": None,
    }
    mailer = apply(sessions, evt(APPOINTMENT_BOOKED, payload, producer="agenda"))

    assert mailer.sent[0].attachments[0][1] == "text/calendar"
    (notice,) = inbox(sessions, booker)["items"]
    assert (notice["kind"], notice["booking_id"]) == ("appointment_booked", str(payload["booking_id"]))
    assert inbox(sessions, patronato(code()))["total"] == 0


def test_the_inbox_rpcs_load_their_input_and_ask_the_policy(sessions):
    ente = code()
    writer = patronato(ente)
    apply(sessions, submitted(requester=writer.sub, ente=ente))
    service = worker_factory(
        NotifyService, db=DatabaseAccess(sessions, "notify.rpc"), mailer=FakeMailer(), clock=FixedClock(NOW)
    )
    claims = writer.as_claims()

    listed = service.list_notifications(claims, {"kind": "protocol_registered", "page_size": "5"})
    assert (listed["total"], listed["page_size"]) == (1, 5)
    assert service.mark_notification_read(claims, listed["items"][0]["id"])["read"] is True
    assert service.mark_all_notifications_read(claims) == {"marked": 0, "unread": 0}
    changed = service.set_notification_preferences(
        claims, {"preferences": [{"kind": "request_closed", "email": True, "sms": False}]}
    )
    assert next(p for p in changed["preferences"] if p["kind"] == "request_closed")["sms"] is False
    assert service.notification_preferences(claims) == changed

    with pytest.raises(Exception) as bad_kind:
        service.list_notifications(claims, {"kind": "everything"})
    assert bad_kind.value.code == "validation_failed"
    with pytest.raises(Forbidden):
        service.list_notifications(Caller(sub="x", role="sede_operatore", sede="7000").as_claims(), {})


def report_published(region: str):
    payload = {
        "report_id": uuid.uuid4(),
        "region": region,
        "month": "2026-03",
        "first_day": "2026-03-01",
        "last_day": "2026-03-31",
        "published_at": NOW,
        "files": [
            {
                "format": "pdf",
                "key": "reports/x/cruscotto-lazio-2026-03.pdf",
                "filename": "cruscotto-lazio-2026-03.pdf",
                "content_type": "application/pdf",
                "size": 9,
            }
        ],
        "totals": {
            "submitted": 120,
            "closed_within_sla": 90,
            "threshold_indicator": 0.8134,
            "backlog_index": None,
        },
    }
    return evt("report_published", payload, producer="reporting")


def test_a_monthly_report_goes_to_its_direzione_regionale_with_the_pdf(sessions):
    region = f"Regione {code()}"
    with sessions.begin() as session:
        session.add(
            RegionalDirectorate(region=region, name=f"DR {region}", email=f"dr.{code()}@inps.example")
        )
    mailer = FakeMailer()
    event = report_published(region)
    handler = functools.partial(use_cases.notify_report_published, pdf=b"%PDF-1.4 x")
    notify_and_dispatch(sessions, "on_report_published", handler, event, {"email": mailer}, FixedClock(NOW))

    (sent,) = mailer.sent
    assert sent.to.startswith("dr.") and sent.subject.endswith(f"{region}, marzo 2026")
    assert "Richieste presentate: 120" in sent.body and "Indicatore di soglia: 81,3%" in sent.body
    assert "Indice di giacenza: n.d." in sent.body
    assert sent.attachments == (("cruscotto-lazio-2026-03.pdf", "application/pdf", b"%PDF-1.4 x"),)

    unknown = report_published("Atlantide")
    notify_and_dispatch(sessions, "on_report_published", handler, unknown, {"email": mailer}, FixedClock(NOW))
    with sessions() as session:
        (skipped,) = session.scalars(
            select(Delivery).where(Delivery.event_id == uuid.UUID(unknown.event_id))
        ).all()
    assert (skipped.status, skipped.error) == ("skipped", use_cases.NO_DIRECTORATE_ADDRESS)
