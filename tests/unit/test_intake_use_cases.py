"""Intake's use cases with the in-memory unit of work: no broker, no database, no store.

Each use case loads the request, asks the aggregate for the transition and commits: the
state changes and the events it records are those a rule allows, and a refused step
records nothing (modelled on cosmicpython's tests/unit/test_handlers.py).
"""

from __future__ import annotations

import dataclasses
import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import projections, views
from services.intake.catalog import Catalog, default_catalog
from services.intake.unit_of_work import InMemoryUnitOfWork
from services.intake.use_cases import attachments, contact_center, conversation, submission
from shared.access import Caller
from shared.clock import FixedClock
from shared.consumer import RetryLater
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import make_event, parse_event

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CATALOG = default_catalog()
OPERATORE = Caller.from_claims(
    {"sub": "op-1", "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}
)
INTERMEDIARIO = Caller.from_claims({"sub": "cdl-1", "role": "intermediario", "matricole": ["7012345678"]})
OFFICIAL = Caller.from_claims(
    {"sub": "sede-1", "role": "sede_operatore", "sede": "0704", "groups": ["APP_FEA_COMBID"]}
)
OTHER_SEDE = Caller.from_claims(
    {"sub": "sede-2", "role": "sede_operatore", "sede": "0908", "groups": ["APP_FEA_COMBID"]}
)
SUBMISSION = {
    "subject": "requisiti_accesso",
    "text": "Quali requisiti per l'assegno di inclusione?",
    "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
    "contacts": {"email": "op@patronato.example"},
}
PDF = b"%PDF-1.4\n% allegato di prova\n"


class FakeStore:
    def __init__(self):
        self.objects = {}

    def put(self, key, data, content_type):
        self.objects[key] = data

    def get(self, key):
        return self.objects[key]


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def uow(clock):
    return InMemoryUnitOfWork(clock, "corr-1")


def published(uow) -> list[str]:
    """The types of the events committed since the last look (then forgotten)."""
    types = [event.type for event in uow.outbox]
    uow.outbox.clear()
    uow.committed = False
    return types


def stored(uow, request_id):
    return uow.requests.rows[uuid.UUID(request_id)]


def routed(request_id, sede="0704", decided_at=START):
    payload = {
        "request_id": request_id,
        "assignment": {"kind": "sede", "code": sede, "name": "Roma", "reason": "CAP", "queue": "pensioni"},
        "rule": "operatore_generico_cap",
        "reference_version": "test",
        "decided_at": decided_at,
    }
    return parse_event(make_event("request_routed", payload, producer="routing").to_message())


@pytest.fixture
def request_id(uow):
    """A request submitted by the operatore and routed to sede 0704."""
    request_id = submission.submit_request(uow, FakeStore(), CATALOG, OPERATORE, SUBMISSION)["id"]
    projections.record_assignment(uow, routed(request_id))
    published(uow)
    return request_id


def answered(uow, request_id):
    conversation.reply(uow, OFFICIAL, request_id, {"text": "Ecco i requisiti."})
    published(uow)


# ---- submission ----------------------------------------------------------------------------


def test_submission_stores_a_request_and_records_request_submitted(uow):
    result = submission.submit_request(uow, FakeStore(), CATALOG, OPERATORE, SUBMISSION)

    request = stored(uow, result["id"])
    assert result == {"id": str(request.id), "protocol": "COMBID.2026.00000001", "state": "open"}
    assert (request.origin, request.subject_code, request.sla_days) == ("patronato", "requisiti_accesso", 10)
    assert [(c.from_state, c.to_state) for c in request.state_changes] == [(None, "open")]
    [event] = uow.outbox
    assert uow.committed
    assert (event.type, event.producer, event.correlation_id) == ("request_submitted", "intake", "corr-1")
    assert event.payload["request_id"] == result["id"]
    assert event.payload["citizen"] == SUBMISSION["citizen"]


def test_an_invalid_submission_stores_and_records_nothing(uow):
    with pytest.raises(InvalidInput) as refused:
        submission.submit_request(uow, FakeStore(), CATALOG, OPERATORE, {**SUBMISSION, "citizen": None})
    assert refused.value.errors[0]["code"] == "citizen_required"
    assert uow.requests.rows == {}
    assert (uow.outbox, uow.committed) == ([], False)


def test_cassetto_files_are_bundled_into_one_archive(uow):
    store = FakeStore()
    # two files with the same name stay two files in the archive
    uploads = [attachments.store_attachment(uow, store, INTERMEDIARIO, "a.pdf", PDF) for _ in range(2)]
    body = {
        "subject": "generico_informativo",
        "text": "Una domanda.",
        "matricola": "7012345678",
        "contacts": {},
        "attachments": [upload["id"] for upload in uploads],
    }
    result = submission.submit_request(uow, store, CATALOG, INTERMEDIARIO, body)

    files = list(uow.attachments.rows.values())
    [archive] = [a for a in files if a.content_type == "application/zip"]
    assert archive.request_id == uuid.UUID(result["id"])
    assert archive.filename == "allegati-COMBID-2026-00000001.zip"
    assert {a.bundled_into for a in files if a is not archive} == {archive.id}
    assert len(zipfile.ZipFile(io.BytesIO(store.objects[archive.object_key])).namelist()) == 2
    assert published(uow) == ["request_submitted"]


def test_an_upload_already_used_cannot_be_claimed_again(uow):
    store = FakeStore()
    upload = attachments.store_attachment(uow, store, OPERATORE, "a.pdf", PDF)
    body = {**SUBMISSION, "attachments": [upload["id"]]}
    submission.submit_request(uow, store, CATALOG, OPERATORE, body)
    published(uow)
    with pytest.raises(InvalidInput) as refused:
        submission.submit_request(uow, store, CATALOG, OPERATORE, body)
    assert refused.value.errors[0]["code"] == "unknown_attachment"
    assert published(uow) == []


def test_a_granted_operator_is_offered_the_referente_subjects(uow):
    admin = Caller.from_claims({"sub": "adm-1", "role": "patronato_admin", "patronato": "001"})
    before = {s["code"] for s in submission.offered_subjects(uow, CATALOG, OPERATORE)}
    submission.set_referente_profile(uow, admin, "op-1", True)
    after = {s["code"] for s in submission.offered_subjects(uow, CATALOG, OPERATORE)}
    assert "chiarimento_normativo" in after - before
    with pytest.raises(Forbidden):
        submission.set_referente_profile(uow, OPERATORE, "op-2", True)


def test_stale_uploads_are_purged(uow, clock):
    upload = attachments.store_attachment(uow, FakeStore(), OPERATORE, "a.pdf", PDF)
    clock.advance(timedelta(days=2))
    [(attachment_id, _key)] = attachments.attachments_to_purge(uow)
    attachments.forget_purged(uow, [attachment_id])
    assert str(attachment_id) == upload["id"]
    assert uow.attachments.rows == {}


# ---- routing decisions ----------------------------------------------------------------------


def test_request_routed_assigns_the_request_and_an_older_decision_does_not_win(uow, request_id):
    projections.record_assignment(uow, routed(request_id, sede="0908", decided_at=START - timedelta(hours=1)))
    assert stored(uow, request_id).assigned_sede == "0704"
    projections.record_assignment(uow, routed(request_id, sede="0908", decided_at=START + timedelta(hours=1)))
    assert stored(uow, request_id).assigned_sede == "0908"
    assert published(uow) == []


def test_request_routed_for_a_request_not_stored_yet_is_retried_later(uow):
    with pytest.raises(RetryLater):
        projections.record_assignment(uow, routed(str(uuid.uuid4())))


# ---- the official ---------------------------------------------------------------------------


def test_take_in_charge_moves_the_request_and_records_it(uow, request_id):
    result = conversation.take_in_charge(uow, OFFICIAL, request_id, {"comment": "lavoro io"})

    assert result == {"id": request_id, "state": "in_progress"}
    [event] = uow.outbox
    assert (event.type, event.payload["sede"], event.payload["comment"]) == (
        "request_taken_in_charge",
        "0704",
        "lavoro io",
    )
    change = stored(uow, request_id).state_changes[-1]
    assert (change.from_state, change.to_state, change.actor) == ("open", "in_progress", "sede-1")


def test_taking_in_charge_twice_is_refused_and_records_nothing(uow, request_id):
    conversation.take_in_charge(uow, OFFICIAL, request_id, {})
    published(uow)
    with pytest.raises(Conflict) as refused:
        conversation.take_in_charge(uow, OFFICIAL, request_id, {})
    assert refused.value.code == "already_in_progress"
    assert (published(uow), uow.committed) == ([], False)


def test_an_answer_takes_in_charge_and_counts(uow, request_id):
    result = conversation.reply(uow, OFFICIAL, request_id, {"text": "Ecco i requisiti."})

    request = stored(uow, request_id)
    assert result["state"] == "in_progress"
    assert (request.answers_count, request.first_answer_at) == (1, START)
    assert [(m.kind, m.text) for m in request.messages] == [("answer", "Ecco i requisiti.")]
    [event] = uow.outbox
    assert event.type == "request_answered"
    assert (event.payload["answer_number"], event.payload["first_answer"]) == (1, True)
    assert event.payload["message_id"] == result["message_id"]


def test_an_answer_that_closes_records_both_events_in_order(uow, request_id):
    command = {"text": "Fatto.", "close": True, "outcome": " Pratica definita ", "enable_booking": True}
    result = conversation.reply(uow, OFFICIAL, request_id, command)

    request = stored(uow, request_id)
    assert result["state"] == "closed"
    assert (request.outcome, request.booking_enabled, request.closed_at) == ("Pratica definita", True, START)
    assert [(c.from_state, c.to_state) for c in request.state_changes] == [
        (None, "open"),
        ("open", "in_progress"),
        ("in_progress", "closed"),
    ]
    assert published(uow) == ["request_answered", "request_closed"]


def test_a_followup_reopens_a_request_its_first_answer_closed(uow, request_id):
    command = {"text": "Fatto.", "close": True, "outcome": "Pratica definita"}
    conversation.reply(uow, OFFICIAL, request_id, command)

    result = conversation.add_followup(uow, OPERATORE, request_id, {"text": "E per i minori?"})

    request = stored(uow, request_id)
    assert (request.state, request.followups_count, request.closed_at) == ("in_progress", 1, None)
    assert [(c.from_state, c.to_state) for c in request.state_changes][-1] == ("closed", "in_progress")
    followup = uow.outbox[-1]
    assert (followup.type, followup.payload["reopened"], followup.payload["interactions_left"]) == (
        "request_followup_added",
        True,
        1,
    )
    assert result["id"] == request_id


def test_request_closed_says_whether_booking_is_possible(uow, request_id):
    conversation.reply(uow, OFFICIAL, request_id, {"text": "Risposta."})
    conversation.add_followup(uow, OPERATORE, request_id, {"text": "Prima?"})
    conversation.add_followup(uow, OPERATORE, request_id, {"text": "Seconda?"})
    published(uow)
    conversation.close(uow, OFFICIAL, request_id, {"outcome": "Pratica definita"})
    [closed] = uow.outbox
    # interactions used up: booking is possible without the office enabling it (msg 3813/2021 §1.3)
    assert (closed.payload["booking_enabled"], closed.payload["booking_possible"]) == (False, True)


def test_closing_without_an_outcome_changes_and_records_nothing(uow, request_id):
    for use_case, command in (
        (conversation.close, {"outcome": "  "}),
        (conversation.reply, {"text": "Fatto.", "close": True, "outcome": None}),
    ):
        with pytest.raises(InvalidInput) as refused:
            use_case(uow, OFFICIAL, request_id, command)
        assert refused.value.errors[0]["code"] == "outcome_required"
    request = stored(uow, request_id)
    assert (request.state, request.answers_count, request.messages) == ("open", 0, [])
    assert (published(uow), uow.committed) == ([], False)


def test_close_records_request_closed(uow, request_id):
    result = conversation.close(uow, OFFICIAL, request_id, {"outcome": "Pratica definita"})
    assert result == {"id": request_id, "state": "closed"}
    [event] = uow.outbox
    assert (event.type, event.payload["outcome"], event.payload["booking_enabled"]) == (
        "request_closed",
        "Pratica definita",
        False,
    )
    with pytest.raises(Conflict) as closed:
        conversation.take_in_charge(uow, OFFICIAL, request_id, {})
    assert closed.value.code == "request_closed"


def test_change_of_subject_follows_the_new_sla(uow, request_id):
    command = {"subject": "prestazione_in_corso_o_respinta"}
    result = conversation.change_subject(uow, OFFICIAL, request_id, command, CATALOG)

    assert result == {"id": request_id, "subject": "prestazione_in_corso_o_respinta", "sla_days": 15}
    [event] = uow.outbox
    assert event.type == "request_subject_changed"
    assert (event.payload["old_subject"], event.payload["sla_days"]) == ("requisiti_accesso", 15)
    # routing decides again on these (its recorded input may be blank)
    assert (event.payload["channel"], event.payload["profile"]) == ("combipat", "operatore_generico")
    assert event.payload["citizen"]["cap"] == "00184"
    assert event.payload["patronato"] == {"ente": "001", "ufficio": "0001"}
    with pytest.raises(InvalidInput) as unknown:
        conversation.change_subject(uow, OFFICIAL, request_id, {"subject": "f24"}, CATALOG)
    assert unknown.value.errors[0]["code"] == "unknown_subject"


def test_the_comment_of_a_change_of_subject_is_stored_with_the_subjects(uow, request_id):
    command = {"subject": "prestazione_in_corso_o_respinta", "comment": "Riguarda una NASpI respinta"}
    conversation.change_subject(uow, OFFICIAL, request_id, command, CATALOG)

    change = stored(uow, request_id).state_changes[-1]
    assert (change.from_state, change.to_state, change.step, change.comment) == (
        "open",
        "open",
        "subject_changed",
        "Riguarda una NASpI respinta",
    )
    assert change.details == {
        "old_subject": "requisiti_accesso",
        "new_subject": "prestazione_in_corso_o_respinta",
    }
    history = views.detail(stored(uow, request_id), CATALOG, START, OPERATORE)["state_history"]
    assert history[-1]["subject_change"] == {
        "old": {"code": "requisiti_accesso", "label": "Requisiti e modalità di accesso ai servizi"},
        "new": {"code": "prestazione_in_corso_o_respinta", "label": "Prestazione in corso o respinta"},
    }
    assert history[-1]["comment"] == "Riguarda una NASpI respinta"


def test_the_comment_of_an_answer_is_stored_when_the_state_does_not_change(uow, request_id):
    conversation.take_in_charge(uow, OFFICIAL, request_id, {})
    conversation.reply(
        uow, OFFICIAL, request_id, {"text": "Ecco i requisiti.", "comment": "Inviata la modulistica"}
    )
    conversation.reply(
        uow, OFFICIAL, request_id, {"text": "Integro la risposta."}
    )  # no comment, nothing to keep

    history = [(c.from_state, c.to_state, c.step, c.comment) for c in stored(uow, request_id).state_changes]
    assert history == [
        (None, "open", "submitted", None),
        ("open", "in_progress", "taken_in_charge", None),
        ("in_progress", "in_progress", "answered", "Inviata la modulistica"),
    ]


def test_an_answer_that_closes_keeps_its_comment_once(uow, request_id):
    command = {"text": "Fatto.", "close": True, "outcome": "Definita", "comment": "Chiusa con risposta"}
    conversation.reply(uow, OFFICIAL, request_id, command)

    comments = [(c.step, c.comment) for c in stored(uow, request_id).state_changes if c.comment]
    assert comments == [("closed", "Chiusa con risposta")]


def test_an_official_of_another_sede_finds_nothing_and_changes_nothing(uow, request_id):
    with pytest.raises(NotFound):
        conversation.take_in_charge(uow, OTHER_SEDE, request_id, {})
    with pytest.raises(Forbidden):
        conversation.take_in_charge(uow, OPERATORE, request_id, {})
    assert stored(uow, request_id).state == "open"
    assert published(uow) == []


# ---- the requester --------------------------------------------------------------------------


def test_followups_after_the_first_answer_then_refused(uow, request_id):
    with pytest.raises(Conflict) as early:
        conversation.add_followup(uow, OPERATORE, request_id, {"text": "Novità?"})
    assert early.value.code == "no_answer_yet"
    assert published(uow) == []

    answered(uow, request_id)
    first = conversation.add_followup(uow, OPERATORE, request_id, {"text": "E per i minori?"})
    second = conversation.add_followup(uow, OPERATORE, request_id, {"text": "E per gli anziani?"})
    assert (first["followups_left"], second["followups_left"]) == (1, 0)
    assert [e.payload["interactions_left"] for e in uow.outbox] == [1, 0]
    assert published(uow) == ["request_followup_added", "request_followup_added"]
    with pytest.raises(Conflict) as third:
        conversation.add_followup(uow, OPERATORE, request_id, {"text": "E ancora?"})
    assert third.value.code == "followups_exhausted"
    assert stored(uow, request_id).followups_count == 2
    assert published(uow) == []


def test_a_reminder_from_the_fifteenth_day_without_an_answer(uow, request_id, clock):
    clock.advance(timedelta(days=14))
    with pytest.raises(Conflict) as early:
        conversation.add_reminder(uow, OPERATORE, request_id, {})
    assert early.value.code == "reminder_too_early"
    assert published(uow) == []

    clock.advance(timedelta(days=1))
    assert conversation.add_reminder(uow, OPERATORE, request_id, {}) == {"id": request_id, "reminders": 1}
    [event] = uow.outbox
    assert (event.type, event.payload["days_waited"]) == ("request_reminded", 15)
    request = stored(uow, request_id)
    assert (request.last_reminder_at, request.messages[-1].text) == (
        clock.now(),
        "Sollecito: nessuna risposta dopo 15 giorni.",
    )


def test_a_reminder_once_answered_is_refused(uow, request_id, clock):
    answered(uow, request_id)
    clock.advance(timedelta(days=20))
    with pytest.raises(Conflict) as refused:
        conversation.add_reminder(uow, OPERATORE, request_id, {"text": "Allora?"})
    assert refused.value.code == "already_answered"
    assert (published(uow), stored(uow, request_id).reminders_count) == ([], 0)


# ---- the channel's rules: the catalog's data, each seed's values -----------------------------

CASSETTO_REQUEST = {
    "subject": "generico_informativo",
    "text": "Una domanda.",
    "matricola": "7012345678",
    "contacts": {},
}


def test_the_catalog_gives_each_channel_its_seeds_rules():
    combipat, cassetto = CATALOG.rules_for("combipat"), CATALOG.rules_for("cassetto")

    assert (combipat.followups_after_first_answer, combipat.reminder_after_days) == (2, 15)
    assert "3813/2021" in combipat.source
    assert (cassetto.followups_after_first_answer, cassetto.reminder_after_days) == (0, None)
    assert "1986/2011" in cassetto.source and "concatenate" in cassetto.source
    offered = submission.offered_subjects(InMemoryUnitOfWork(FixedClock(START)), CATALOG, INTERMEDIARIO)
    assert {s["channel_rules"]["followups_after_first_answer"] for s in offered} == {0}


def test_a_cassetto_request_continues_with_a_chained_request_not_follow_ups_or_reminders(uow, clock):
    request_id = submission.submit_request(uow, FakeStore(), CATALOG, INTERMEDIARIO, CASSETTO_REQUEST)["id"]
    projections.record_assignment(uow, routed(request_id))
    clock.advance(timedelta(days=20))
    with pytest.raises(Conflict) as reminder:
        conversation.add_reminder(uow, INTERMEDIARIO, request_id, {}, CATALOG)
    assert reminder.value.code == "reminder_not_offered"
    conversation.reply(
        uow, OFFICIAL, request_id, {"text": "Risposta.", "close": True, "outcome": "Ok"}, CATALOG
    )
    [closed] = [event for event in uow.outbox if event.type == "request_closed"]
    # closing with the first answer offers no automatic booking here: no interactions to use up
    assert closed.payload["booking_possible"] is False
    published(uow)

    with pytest.raises(Conflict) as followup:
        conversation.add_followup(uow, INTERMEDIARIO, request_id, {"text": "E poi?"}, CATALOG)

    assert followup.value.code == "followups_not_offered"
    assert published(uow) == []
    actions = views.detail(stored(uow, request_id), CATALOG, clock.now(), INTERMEDIARIO)["next_actions"]
    assert actions == {
        "followups_left": 0,
        "can_follow_up": False,
        "can_remind": False,
        "reminder_allowed_from": None,
    }


def test_the_limits_are_the_catalogs_data(uow, request_id):
    one_followup = Catalog.from_file()
    one_followup.channels["combipat"] = dataclasses.replace(
        one_followup.channels["combipat"], followups_after_first_answer=1
    )
    answered(uow, request_id)

    result = conversation.add_followup(uow, OPERATORE, request_id, {"text": "Un dubbio"}, one_followup)
    with pytest.raises(Conflict) as second:
        conversation.add_followup(uow, OPERATORE, request_id, {"text": "Un altro"}, one_followup)

    assert result["followups_left"] == 0
    assert second.value.code == "followups_exhausted"


def test_only_a_requester_who_may_see_the_request_follows_up(uow, request_id):
    answered(uow, request_id)
    with pytest.raises(Forbidden):
        conversation.add_followup(uow, OFFICIAL, request_id, {"text": "x"})
    with pytest.raises(NotFound):
        conversation.add_followup(uow, INTERMEDIARIO, request_id, {"text": "x"})
    assert published(uow) == []


# ---- outbound and contact center ------------------------------------------------------------


def test_a_sede_writes_in_reply_to_a_request_and_the_message_goes_to_its_requester(uow, request_id):
    command = {"recipient": {"kind": "patronato"}, "subject": "Documenti", "text": "Servono i documenti."}
    result = conversation.send_outbound(uow, CATALOG, OFFICIAL, {**command, "request_id": request_id})

    message = stored(uow, result["id"])
    assert (message.origin, message.state, message.sla_days) == ("sede", "closed", None)
    assert message.parent_id == uuid.UUID(request_id)
    [event] = uow.outbox
    assert event.type == "outbound_message_sent"
    assert event.payload["recipient"]["patronato"] == {"ente": "001", "ufficio": "0001"}
    assert event.payload["contacts"]["email"] == "op@patronato.example"
    with pytest.raises(Conflict) as outbound:  # stored closed: never worked
        conversation.take_in_charge(uow, OFFICIAL, result["id"], {})
    assert outbound.value.code == "request_closed"


def test_a_message_to_a_company_needs_its_matricola(uow):
    command = {"recipient": {"kind": "azienda"}, "subject": "Avviso", "text": "Testo."}
    with pytest.raises(InvalidInput) as refused:
        conversation.send_outbound(uow, CATALOG, OFFICIAL, command)
    assert refused.value.errors[0]["code"] == "matricola_required"
    assert (uow.requests.rows, published(uow)) == ({}, [])


def contact_center_message(kind, message_id="cc-1"):
    payload = {
        "message_id": message_id,
        "kind": kind,
        "matricola": "7012345678",
        "sender": "Studio Rossi",
        "subject": "Fax",
        "text": "Chiedo informazioni.",
        "occurred_at": START - timedelta(hours=1),
    }
    envelope = make_event("contact_center_message", payload, producer="contact-center", correlation_id="cc")
    return parse_event(envelope.to_message())


def test_an_inbound_fax_becomes_a_request_to_route_once(uow):
    contact_center.record_message(uow, contact_center_message("fax_inbound"), catalog=CATALOG)

    [request] = uow.requests.rows.values()
    assert (request.origin, request.state, request.requester_sub) == ("fax", "open", "fax:Studio Rossi")
    assert request.created_at == START - timedelta(hours=1)
    assert published(uow) == ["request_submitted", "contact_center_message_recorded"]
    contact_center.record_message(uow, contact_center_message("fax_inbound"), catalog=CATALOG)
    assert len(uow.requests.rows) == 1
    assert published(uow) == []


def test_an_outbound_contact_center_message_joins_the_history_closed(uow):
    contact_center.record_message(uow, contact_center_message("contact_center_outbound"), catalog=CATALOG)

    [request] = uow.requests.rows.values()
    assert (request.origin, request.state, request.matricola) == ("contact_center", "closed", "7012345678")
    assert published(uow) == ["contact_center_message_recorded"]
