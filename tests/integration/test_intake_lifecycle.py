"""The conversation on intake's RPC entrypoints, on the real broker, database and object store."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcClient
from nameko.testing.services import entrypoint_waiter

from services.intake.service import IntakeService
from shared.clock import Clock, FixedClock
from shared.contact_center import ContactCenterPublisher
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.storage import ObjectStoreAccess, make_client
from tests.integration.helpers import about, publish_event, scalar

VALID_CF = "RSSMRA85T10A562S"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def intake(container_factory, service_config, clock):
    container = container_factory(IntakeService, service_config("intake"))
    next(d for d in container.dependencies if isinstance(d, Clock)).clock = clock
    container.start()
    return container


@pytest.fixture
def rpc(infra, intake):
    with ClusterRpcClient({"AMQP_URI": infra.amqp_uri}) as client:
        yield client.intake


def operatore(unique, **more):
    return {
        "sub": f"op-{unique}",
        "role": "patronato_operatore",
        "patronato": "001",
        "ufficio": f"U{unique[:6]}",
        **more,
    }


def sede_of(unique) -> str:
    """A sede code (4 digits) of this test's own."""
    return f"{int(unique[:8], 16) % 10000:04d}"


def official(sede, **more):
    return {
        "sub": f"funz-{sede}",
        "role": "sede_operatore",
        "sede": sede,
        "groups": ["APP_FEA_COMBID"],
        **more,
    }


def submission(**overrides):
    body = {
        "subject": "requisiti_accesso",
        "text": "Quali requisiti per l'assegno di inclusione?",
        "citizen": {"codice_fiscale": VALID_CF, "cap": "00184"},
        "contacts": {"email": "op@patronato.example"},
    }
    body.update(overrides)
    return body


def route(infra, intake, request_id, sede, region="Lazio"):
    payload = {
        "request_id": request_id,
        "assignment": {
            "kind": "sede",
            "code": sede,
            "name": f"Sede {sede}",
            "reason": "test",
            "queue": "informazioni",
            "region": region,
        },
        "rule": "operatore_generico_cap",
        "reference_version": "test",
        "decided_at": datetime.now(UTC),
    }
    with entrypoint_waiter(intake, "on_request_routed", callback=about(request_id=request_id)):
        publish_event(infra.amqp_uri, "request_routed", payload)


def events_for(infra, request_id, event_type):
    return scalar(
        infra.database_url("intake"),
        "SELECT count(*) FROM outbox WHERE event_type = :type AND body->'payload'->>'request_id' = :id",
        type=event_type,
        id=request_id,
    )


def test_full_conversation(infra, intake, rpc, unique, clock):
    caller, sede = operatore(unique), sede_of(unique)
    request_id = rpc.submit_request(caller, submission())["id"]
    route(infra, intake, request_id, sede)
    funzionario = official(sede)

    with pytest.raises(Conflict) as too_soon:
        rpc.add_followup(caller, request_id, {"text": "ci siete?"})
    assert too_soon.value.code == "no_answer_yet"

    assert (
        rpc.take_in_charge(funzionario, request_id, {"comment": "presa in carico"})["state"] == "in_progress"
    )
    clock.advance(timedelta(days=2))
    rpc.reply(funzionario, request_id, {"text": "Servono ISEE e residenza."})
    assert rpc.add_followup(caller, request_id, {"text": "ISEE scaduto?"})["followups_left"] == 1
    assert rpc.add_followup(caller, request_id, {"text": "E per i minori?"})["followups_left"] == 0
    with pytest.raises(Conflict) as third:
        rpc.add_followup(caller, request_id, {"text": "Un'ultima cosa"})
    assert third.value.code == "followups_exhausted"
    assert third.value.detail.startswith("Sono già state utilizzate")
    rpc.close(
        funzionario,
        request_id,
        {"outcome": "Informazioni fornite", "comment": "chiusa", "enable_booking": True},
    )

    detail = rpc.get_request(caller, request_id)
    assert detail["state"] == "closed"
    assert detail["outcome"] == "Informazioni fornite"
    assert [m["kind"] for m in detail["thread"]] == ["answer", "followup", "followup"]
    assert [(c["to_state"], c["comment"]) for c in detail["state_history"]] == [
        ("open", None),
        ("in_progress", "presa in carico"),
        ("closed", "chiusa"),
    ]
    assert detail["next_actions"]["can_follow_up"] is False
    for event_type, count in [
        ("request_taken_in_charge", 1),
        ("request_answered", 1),
        ("request_followup_added", 2),
        ("request_closed", 1),
    ]:
        assert events_for(infra, request_id, event_type) == count, event_type


def test_reminder_only_from_the_fifteenth_day_and_never_after_an_answer(infra, intake, rpc, unique, clock):
    caller = operatore(unique)
    request_id = rpc.submit_request(caller, submission())["id"]
    clock.advance(timedelta(days=14))
    with pytest.raises(Conflict) as early:
        rpc.add_reminder(caller, request_id, {})
    assert early.value.code == "reminder_too_early"
    assert early.value.extra["reminder_allowed_from"] == "2026-03-17"
    clock.advance(timedelta(days=1))
    assert rpc.add_reminder(caller, request_id, {})["reminders"] == 1
    assert events_for(infra, request_id, "request_reminded") == 1

    route(infra, intake, request_id, sede_of(unique))
    rpc.reply(official(sede_of(unique)), request_id, {"text": "Risposta"})
    clock.advance(timedelta(days=20))
    with pytest.raises(Conflict) as answered:
        rpc.add_reminder(caller, request_id, {})
    assert answered.value.code == "already_answered"


def test_officials_need_the_group_and_their_own_sede(infra, intake, rpc, unique):
    request_id = rpc.submit_request(operatore(unique), submission())["id"]
    route(infra, intake, request_id, sede_of(unique))
    with pytest.raises(Forbidden) as no_group:
        rpc.take_in_charge(official(sede_of(unique), groups=[]), request_id, {})
    assert no_group.value.code == "missing_group"
    with pytest.raises(NotFound):
        rpc.take_in_charge(official("9999"), request_id, {})
    with pytest.raises(NotFound):
        rpc.get_request(official("9999"), request_id)
    assert (
        scalar(infra.database_url("intake"), "SELECT state FROM requests WHERE id = :id", id=request_id)
        == "open"
    )


def test_change_of_subject_moves_the_sla_and_tells_routing(infra, intake, rpc, unique):
    request_id = rpc.submit_request(operatore(unique), submission())["id"]
    route(infra, intake, request_id, sede_of(unique))
    changed = rpc.change_subject(
        official(sede_of(unique)),
        request_id,
        {"subject": "prestazione_in_corso_o_respinta", "comment": "oggetto errato"},
    )
    assert changed == {"id": request_id, "subject": "prestazione_in_corso_o_respinta", "sla_days": 15}
    assert events_for(infra, request_id, "request_subject_changed") == 1
    with pytest.raises(InvalidInput) as unknown:
        rpc.change_subject(official(sede_of(unique)), request_id, {"subject": "f24"})
    assert unknown.value.errors[0]["code"] == "unknown_subject"


def upload(rpc, caller, data, name="file.pdf"):
    return rpc.upload_attachment(caller, name, base64.b64encode(data).decode())["id"]


def test_cassetto_files_become_one_archive_and_a_fourth_is_refused(infra, rpc, unique):
    caller = {
        "sub": f"cdl-{unique}",
        "role": "intermediario",
        "matricole": ["7012345678"],
        "codice_fiscale": VALID_CF,
    }
    pdfs = [b"%PDF-1.4 " + bytes([65 + i]) * 100 for i in range(4)]
    ids = [upload(rpc, caller, pdf, f"doc{i}.pdf") for i, pdf in enumerate(pdfs)]
    body = {"subject": "f24", "text": "Versamento F24 non abbinato", "matricola": "7012345678"}
    with pytest.raises(InvalidInput) as four:
        rpc.submit_request(caller, dict(body, attachments=ids))
    assert four.value.errors[0]["code"] == "too_many_attachments"
    assert (
        scalar(
            infra.database_url("intake"),
            "SELECT count(*) FROM requests WHERE requester_sub = :s",
            s=caller["sub"],
        )
        == 0
    )

    request_id = rpc.submit_request(caller, dict(body, attachments=ids[:3]))["id"]
    detail = rpc.get_request(caller, request_id)
    assert len(detail["attachments"]) == 1 and detail["attachments"][0]["content_type"] == "application/zip"
    store = ObjectStoreAccess(
        make_client(infra.s3_endpoint, infra.s3_access_key, infra.s3_secret_key), infra.bucket
    )
    key = scalar(
        infra.database_url("intake"),
        "SELECT object_key FROM attachments WHERE id = :id",
        id=detail["attachments"][0]["id"],
    )
    with zipfile.ZipFile(io.BytesIO(store.get(key))) as archive:
        assert sorted(archive.read(n) for n in archive.namelist()) == sorted(pdfs[:3])


def test_patronato_attachments_over_6_mb_in_total_are_refused(infra, rpc, unique):
    caller = operatore(unique)
    three_mb = 3 * 1024 * 1024
    ids = [
        upload(rpc, caller, b"%PDF-1.4 " + b"x" * (three_mb - 9)),
        upload(rpc, caller, b"%PDF-1.4 " + b"y" * (three_mb - 8)),
    ]
    with pytest.raises(InvalidInput) as refused:
        rpc.submit_request(caller, submission(attachments=ids))
    assert refused.value.errors[0]["code"] == "attachments_too_large"
    assert (
        scalar(
            infra.database_url("intake"),
            "SELECT count(*) FROM attachments WHERE id::text = ANY(:ids) AND request_id IS NULL",
            ids=ids,
        )
        == 2
    )


def test_disguised_executable_is_refused_and_not_stored(infra, rpc, unique):
    caller = operatore(unique)
    with pytest.raises(InvalidInput) as refused:
        upload(rpc, caller, b"MZ\x90\x00" + b"\x00" * 500, "fattura.pdf")
    assert refused.value.errors[0]["code"] == "file_type_not_allowed"
    assert (
        scalar(
            infra.database_url("intake"),
            "SELECT count(*) FROM attachments WHERE owner_sub = :s",
            s=caller["sub"],
        )
        == 0
    )


def test_outbound_message_joins_the_company_history(infra, rpc, unique):
    sede = sede_of(unique)
    sent = rpc.send_outbound(
        official(sede),
        {
            "recipient": {
                "kind": "azienda",
                "matricola": "7011111111",
                "contacts": {"email": "az@example.org"},
            },
            "subject": "DURC",
            "text": "Regolarizzare",
        },
    )
    azienda = {"sub": f"az-{unique}", "role": "azienda", "matricole": ["7011111111"]}
    history = rpc.search_requests(azienda, {"origin": "sede"})
    assert sent["id"] in [item["id"] for item in history["items"]]
    assert (
        scalar(
            infra.database_url("intake"),
            "SELECT count(*) FROM outbox WHERE event_type = 'outbound_message_sent' "
            "AND body->'payload'->>'message_id' = :id",
            id=sent["id"],
        )
        == 1
    )


def test_fax_published_with_the_contact_center_client_joins_the_history(infra, intake, rpc, unique):
    matricola = "70" + unique[:8].translate(str.maketrans("abcdef", "123456"))
    with entrypoint_waiter(intake, "on_contact_center_message", callback=about(matricola=matricola)):
        with ContactCenterPublisher(infra.amqp_uri) as publisher:
            envelope = publisher.publish(
                kind="fax_inbound",
                matricola=matricola,
                sender="Studio Verdi",
                subject="DM10",
                text="Invio DM10",
            )
    azienda = {"sub": f"az-{unique}", "role": "azienda", "matricole": [matricola]}
    items = rpc.search_requests(azienda, {"origin": "fax"})["items"]
    assert [item["matricola"] for item in items] == [matricola]
    # the same fax again (new envelope, same message id) adds nothing
    with entrypoint_waiter(intake, "on_contact_center_message", callback=about(matricola=matricola)):
        with ContactCenterPublisher(infra.amqp_uri) as publisher:
            publisher.publish(
                kind="fax_inbound",
                matricola=matricola,
                sender="Studio Verdi",
                subject="DM10",
                text="Invio DM10",
                message_id=envelope["payload"]["message_id"],
            )
    assert rpc.search_requests(azienda, {})["total"] == 1


def test_referente_grant_is_effective_for_the_next_request_of_that_patronato_only(rpc, unique):
    caller = operatore(unique)
    normativo = {
        "subject": "chiarimento_normativo",
        "text": "Quale norma si applica?",
        "cric_section": "pensioni",
    }
    with pytest.raises(InvalidInput):
        rpc.submit_request(caller, normativo)
    other_admin = {"sub": "adm-x", "role": "patronato_admin", "patronato": "999"}
    rpc.set_referente_profile(other_admin, caller["sub"], {"referente_regionale": True})
    with pytest.raises(InvalidInput):
        rpc.submit_request(caller, normativo)
    admin = {"sub": "adm-1", "role": "patronato_admin", "patronato": "001"}
    rpc.set_referente_profile(admin, caller["sub"], {"referente_regionale": True})
    assert rpc.submit_request(caller, normativo)["state"] == "open"
    with pytest.raises(Forbidden):
        rpc.set_referente_profile(caller, caller["sub"], {"referente_regionale": True})


def test_search_filters_and_pages_within_scope(rpc, unique):
    caller = operatore(unique)
    ids = [rpc.submit_request(caller, submission(text=f"domanda {i}"))["id"] for i in range(3)]
    page = rpc.search_requests(caller, {"page_size": 2})
    assert page["total"] == 3 and len(page["items"]) == 2 and page["total_is_estimate"] is False
    assert rpc.search_requests(caller, {"page": 2, "page_size": 2})["items"][0]["id"] in ids
    after = rpc.search_requests(caller, {"cursor": page["next_cursor"], "page_size": 2})
    assert sorted(item["id"] for item in page["items"] + after["items"]) == sorted(ids)
    assert len(after["items"]) == 1 and after["next_cursor"] is None and after["page"] is None
    assert rpc.search_requests(caller, {"state": "closed"})["total"] == 0
    assert rpc.search_requests(caller, {"opened_from": "2026-03-02", "opened_to": "2026-03-02"})["total"] == 3
    assert rpc.search_requests(caller, {"opened_from": "2026-03-03"})["total"] == 0
    stranger = operatore(unique, ufficio="ALTRO")
    assert rpc.search_requests(stranger, {})["total"] == 0
    with pytest.raises(InvalidInput) as bad:
        rpc.search_requests(caller, {"state": "aperta"})
    assert bad.value.errors[0]["field"] == "state"


def test_directors_list_their_sede_their_region_or_the_nation(infra, intake, rpc, unique):
    request_id = rpc.submit_request(operatore(unique), submission())["id"]
    region = f"Regione {unique}"
    route(infra, intake, request_id, sede_of(unique), region=region)

    def listed(**scope):
        caller = {"sub": "dir", "role": "direttore", **scope}
        return request_id in [
            item["id"]
            for item in rpc.search_requests(caller, {"page_size": 100, "opened_from": "2026-03-02"})["items"]
        ]

    assert listed(sede=sede_of(unique))
    assert listed(regione=region)
    assert not listed(regione="Altrove")
    assert not listed(sede="0000")
    assert listed(scope="national")
    with pytest.raises(Forbidden) as scopeless:  # a director whose token names no scope sees nothing
        listed()
    assert scopeless.value.code == "missing_scope"
    assert (
        rpc.get_request({"sub": "dir", "role": "direttore", "regione": region}, request_id)["id"]
        == request_id
    )


def test_a_chained_conversation_is_seen_from_both_ends(infra, intake, rpc, unique, clock):
    """Msg 1986/2011: the requester creates "richieste concatenate in risposta a richieste
    precedentemente inviate", the sede "comunicazioni concatenate"; each end shows the other."""
    caller, sede = operatore(unique), sede_of(unique)
    parent_id = rpc.submit_request(caller, submission())["id"]
    route(infra, intake, parent_id, sede)
    reply = rpc.send_outbound(
        official(sede),
        {
            "recipient": {"kind": "patronato"},
            "subject": "Documenti",
            "text": "Inviare l'ISEE.",
            "request_id": parent_id,
        },
    )
    clock.advance(timedelta(hours=1))
    answer = submission(text="Ecco l'ISEE richiesto.", parent_id=parent_id)
    child_id = rpc.submit_request(caller, answer)["id"]

    chained = rpc.get_request(caller, parent_id)["chained"]
    assert [(c["id"], c["direction"], c["origin"]) for c in chained] == [
        (reply["id"], "from_sede", "sede"),
        (child_id, "from_requester", "patronato"),
    ]
    seen_by_sede = rpc.get_request(official(sede), parent_id)["chained"]
    assert [c["id"] for c in seen_by_sede] == [reply["id"]]  # the new request is not routed to it yet
    child = rpc.get_request(caller, child_id)
    assert (child["parent_id"], child["parent"]["protocol"]) == (
        parent_id,
        rpc.get_request(caller, parent_id)["protocol"],
    )
    assert rpc.get_request(caller, reply["id"])["parent"]["id"] == parent_id
    # a reader who may not see the parent does not learn about it from the reply
    assert rpc.get_request(caller, parent_id)["parent"] is None


def test_officials_filter_by_work_queue_and_an_area_official_sees_only_its_queue(infra, intake, rpc, unique):
    caller, sede = operatore(unique), sede_of(unique)
    request_id = rpc.submit_request(caller, submission())["id"]
    route(infra, intake, request_id, sede)  # queue "informazioni"

    assert [i["id"] for i in rpc.search_requests(official(sede), {"queue": "informazioni"})["items"]] == [
        request_id
    ]
    assert rpc.search_requests(official(sede), {"queue": "pensioni"})["total"] == 0
    pensioni_only = official(sede, aree=["pensioni"])
    assert rpc.search_requests(pensioni_only, {})["total"] == 0
    with pytest.raises(NotFound):
        rpc.get_request(pensioni_only, request_id)
    with pytest.raises(NotFound):
        rpc.take_in_charge(pensioni_only, request_id, {})
    assert rpc.take_in_charge(official(sede, aree=["informazioni"]), request_id, {})["state"] == "in_progress"


def test_an_official_of_any_sede_sees_a_citizens_conversations_and_each_look_up_is_audited(
    infra, intake, rpc, unique, clock
):
    """Msg 3813/2021: COMBIPAT is integrated in the CRM, where "può essere visualizzata
    l'interlocuzione in corso dell'utente": a summary across sedi, no texts, every look-up logged."""
    citizen = VALID_CF
    caller = operatore(unique)
    first = rpc.submit_request(caller, submission(citizen={"codice_fiscale": citizen, "cap": "00184"}))
    second = rpc.submit_request(caller, submission(citizen={"codice_fiscale": citizen, "cap": "20121"}))
    route(infra, intake, first["id"], sede_of(unique))
    route(infra, intake, second["id"], "0908", region="Lombardia")
    elsewhere = official("0101", sub=f"crm-{unique}")

    seen = rpc.crm_conversations(elsewhere, {"codice_fiscale": citizen})

    mine = [item for item in seen["items"] if item["protocol"] in (first["protocol"], second["protocol"])]
    assert sorted(item["sede"] for item in mine) == sorted([sede_of(unique), "0908"])
    assert all("text" not in item and "id" not in item for item in seen["items"])
    with pytest.raises(NotFound):  # the summary, not the request: its detail stays its sede's
        rpc.get_request(elsewhere, first["id"])
    with pytest.raises(Forbidden):
        rpc.crm_conversations(caller, {"codice_fiscale": citizen})
    with pytest.raises(InvalidInput):
        rpc.crm_conversations(elsewhere, {"codice_fiscale": citizen, "matricola": "7012345678"})

    admin = {"sub": "adm", "role": "admin"}
    log = rpc.crm_audit(admin, {"actor": elsewhere["sub"]})
    assert [(e["actor_sede"], e["subject_kind"], e["subject_value"], e["results"]) for e in log["items"]] == [
        ("0101", "codice_fiscale", citizen, seen["total"])
    ]
    with pytest.raises(Forbidden):
        rpc.crm_audit(elsewhere, {})


def test_the_audit_log_of_crm_look_ups_is_append_only(infra, intake, rpc, unique):
    rpc.crm_conversations(official("0101", sub=f"crm-{unique}"), {"matricola": "7012345678"})
    url = infra.database_url("intake")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        for statement in (
            "UPDATE crm_lookups SET actor_sub = 'someone-else' WHERE actor_sub = :sub",
            "DELETE FROM crm_lookups WHERE actor_sub = :sub",
            "TRUNCATE crm_lookups",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(sa.text(statement), {"sub": f"crm-{unique}"})
    finally:
        engine.dispose()
    assert scalar(url, "SELECT count(*) FROM crm_lookups WHERE actor_sub = :sub", sub=f"crm-{unique}") == 1


def test_a_fax_keeps_its_image_in_the_object_store_and_lists_it_with_the_request(infra, intake, rpc, unique):
    matricola = "70" + unique[:8].translate(str.maketrans("abcdef", "123456"))
    contact_center = {"sub": f"ccm-{unique}", "role": "contact_center"}
    tiff = b"II*\x00" + b"\x00" * 64  # a TIFF, as fax servers store them
    image = rpc.upload_attachment(contact_center, "fax.tif", base64.b64encode(tiff).decode("ascii"))
    with entrypoint_waiter(intake, "on_contact_center_message", callback=about(matricola=matricola)):
        with ContactCenterPublisher(infra.amqp_uri) as publisher:
            publisher.publish(
                kind="fax_inbound",
                matricola=matricola,
                sender="Studio Verdi",
                subject="DM10",
                text="Invio DM10, in allegato",
                image_attachment_id=image["id"],
                uploaded_by=contact_center["sub"],
            )
    azienda = {"sub": f"az-{unique}", "role": "azienda", "matricole": [matricola]}
    [fax] = rpc.search_requests(azienda, {"origin": "fax"})["items"]

    attachments = rpc.get_request(azienda, fax["id"])["attachments"]

    assert [(a["id"], a["content_type"], a["size"]) for a in attachments] == [
        (image["id"], "image/tiff", len(tiff))
    ]
    download = rpc.attachment_download(azienda, fax["id"], image["id"])
    store = ObjectStoreAccess(
        make_client(infra.s3_endpoint, infra.s3_access_key, infra.s3_secret_key), infra.bucket
    )
    assert (
        store.get(
            scalar(
                infra.database_url("intake"),
                "SELECT object_key FROM attachments WHERE id = :id",
                id=image["id"],
            )
        )
        == tiff
    )
    assert download["filename"].endswith(".tif") or download["filename"].endswith(".tiff")


def test_a_scheda_linea_inps_is_a_question_for_the_regional_cric(infra, intake, rpc, unique):
    citizen = VALID_CF
    with entrypoint_waiter(intake, "on_contact_center_message", callback=about(codice_fiscale=citizen)):
        with ContactCenterPublisher(infra.amqp_uri) as publisher:
            envelope = publisher.publish(
                kind="scheda_linea_inps",
                codice_fiscale=citizen,
                sender="Operatore CCM 42",
                subject="Ricongiunzione contributi",
                text="Il cittadino chiede come ricongiungere contributi esteri.",
                region="Lazio",
                cric_section="pensioni",
                message_id=f"scheda-{unique}",
            )
    request_id = scalar(
        infra.database_url("intake"),
        "SELECT id FROM requests WHERE external_message_id = :id",
        id=envelope["payload"]["message_id"],
    )
    submitted = scalar(
        infra.database_url("intake"),
        "SELECT body FROM outbox WHERE event_type = 'request_submitted' "
        "AND body->'payload'->>'request_id' = :id",
        id=str(request_id),
    )
    payload = submitted["payload"]
    assert (payload["origin"], payload["channel"], payload["subject"]) == (
        "linea_inps",
        "linea_inps",
        "scheda_linea_inps",
    )
    assert (payload["region"], payload["cric_section"]) == ("Lazio", "pensioni")
    # the citizen it concerns finds it in the CRM view of any official
    found = rpc.crm_conversations(official("0101", sub=f"crm-{unique}"), {"codice_fiscale": citizen})
    assert "linea_inps" in {item["origin"] for item in found["items"]}
