"""Attachments on the real broker, database and object store: downloads authorised like the
detail and streamed by the gateway, and the purge that never takes a file a submission claims."""

from __future__ import annotations

import base64
import io
import uuid
import zipfile
from urllib.parse import parse_qs, urlparse

import eventlet
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcClient
from nameko.testing.services import worker_factory

from gateway import downloads
from services.intake.catalog import default_catalog
from services.intake.service import IntakeService
from services.intake.unit_of_work import SqlUnitOfWork
from services.intake.use_cases import submission as submission_use_cases
from shared.access import Caller
from shared.clock import SystemClock
from shared.db import DatabaseAccess, cooperative_psycopg
from shared.errors import InvalidInput, NotFound
from shared.storage import ObjectStoreAccess, make_client
from tests.integration.helpers import scalar

PDF = b"%PDF-1.4\n% allegato di prova\n" + bytes(range(256)) * 64


def operatore(unique, ufficio=None):
    office = ufficio or f"U{unique[:6]}"
    return {"sub": f"op-{unique}", "role": "patronato_operatore", "patronato": "001", "ufficio": office}


def submission(**overrides):
    body = {
        "subject": "requisiti_accesso",
        "text": "Quali requisiti per l'assegno di inclusione?",
        "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
        "contacts": {"email": "op@patronato.example"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def intake(container_factory, service_config):
    container = container_factory(IntakeService, service_config("intake"))
    container.start()
    return container


@pytest.fixture
def rpc(infra, intake):
    with ClusterRpcClient({"AMQP_URI": infra.amqp_uri}) as client:
        yield client.intake


@pytest.fixture
def store(infra):
    client = make_client(infra.s3_endpoint, infra.s3_access_key, infra.s3_secret_key)
    return ObjectStoreAccess(client, infra.bucket)


def upload(rpc, caller, name, data=PDF):
    return rpc.upload_attachment(caller, name, base64.b64encode(data).decode())


def attachment_column(infra, column, attachment_id):
    sql = f"SELECT {column} FROM attachments WHERE id = :id"
    return scalar(infra.database_url("intake"), sql, id=attachment_id)


def object_key(infra, attachment_id):
    return attachment_column(infra, "object_key", attachment_id)


# ---- downloads -------------------------------------------------------------------------


def test_download_is_streamed_with_safe_headers_to_who_may_read_the_request(infra, rpc, unique):
    caller = operatore(unique)
    attachment = upload(rpc, caller, "Domanda “firmata” è.pdf")
    request_id = rpc.submit_request(caller, submission(attachments=[attachment["id"]]))["id"]

    detail = rpc.get_request(caller, request_id)
    path = f"/api/v1/requests/{request_id}/attachments/{attachment['id']}"
    assert [a["download_url"] for a in detail["attachments"]] == [path]  # the gateway's, not the store's

    found = rpc.attachment_download(caller, request_id, attachment["id"])
    assert found["filename"] == "Domanda firmata e.pdf"
    assert (found["content_type"], found["size"]) == ("application/pdf", len(PDF))
    assert parse_qs(urlparse(found["store_url"]).query)["X-Amz-Expires"] == ["60"]

    response = downloads.stream_attachment(found)
    try:
        assert b"".join(response.iter_encoded()) == PDF
    finally:
        response.close()
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Length"] == str(len(PDF))
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Domanda firmata e.pdf\"; filename*=UTF-8''Domanda%20firmata%20e.pdf"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_download_is_not_found_outside_the_callers_scope_or_the_request(rpc, unique):
    caller = operatore(unique)
    first = upload(rpc, caller, "prima.pdf")
    second = upload(rpc, caller, "seconda.pdf")
    first_request = rpc.submit_request(caller, submission(attachments=[first["id"]]))["id"]
    rpc.submit_request(caller, submission(attachments=[second["id"]]))

    other_office = operatore(unique, ufficio="ALTRO")
    with pytest.raises(NotFound) as refused:
        rpc.attachment_download(other_office, first_request, first["id"])
    assert refused.value.code == "request_not_found"
    # another request's attachment, an unknown one, a malformed id
    for attachment_id in (second["id"], str(uuid.uuid4()), "non-un-id"):
        with pytest.raises(NotFound) as refused:
            rpc.attachment_download(caller, first_request, attachment_id)
        assert refused.value.code == "attachment_not_found"


def test_archive_holding_an_executable_is_refused_on_upload(infra, rpc, unique):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fattura.pdf", b"%PDF-1.4\n")
        archive.writestr("fattura.pdf.exe", b"MZ\x90\x00" + b"\x00" * 60)
    caller = operatore(unique)
    with pytest.raises(InvalidInput) as refused:
        upload(rpc, caller, "fatture.zip", buffer.getvalue())
    assert refused.value.errors[0]["code"] == "file_type_not_allowed"
    url = infra.database_url("intake")
    assert scalar(url, "SELECT count(*) FROM attachments WHERE owner_sub = :sub", sub=caller["sub"]) == 0


# ---- purge -------------------------------------------------------------------------------


def make_stale(database_sessions, *attachment_ids):
    with database_sessions("intake").begin() as session:
        session.execute(
            sa.text("UPDATE attachments SET created_at = created_at - interval '2 days' WHERE id = ANY(:i)"),
            {"i": [uuid.UUID(a) for a in attachment_ids]},
        )


def purging_worker(database_sessions, store):
    """The service's own purge entrypoint, on the real database and store."""
    database = DatabaseAccess(database_sessions("intake"), "intake")
    return worker_factory(IntakeService, db=database, store=store, clock=SystemClock())


def test_purge_skips_an_upload_a_submission_is_claiming_and_its_file_stays(
    infra, rpc, unique, store, database_sessions
):
    cooperative_psycopg()  # the purge waits on PostgreSQL in its own green thread
    caller = operatore(unique)
    claimed, abandoned = upload(rpc, caller, "claimed.pdf"), upload(rpc, caller, "abandoned.pdf")
    claimed_key, abandoned_key = object_key(infra, claimed["id"]), object_key(infra, abandoned["id"])
    make_stale(database_sessions, claimed["id"], abandoned["id"])  # both past the 24 h of a staged upload
    worker = purging_worker(database_sessions, store)

    with database_sessions("intake").begin() as claiming:
        # a submission claims the upload and holds its row lock, not yet committed...
        body = submission(attachments=[claimed["id"]])
        claimer = Caller.from_claims(caller)
        uow = SqlUnitOfWork(claiming, SystemClock())
        result = submission_use_cases.submit_request(uow, store, default_catalog(), claimer, body)
        # ...while the purge runs: it passes the locked row by instead of waiting for it
        purge = eventlet.spawn(worker.purge_attachments)
        with eventlet.Timeout(15, False):
            purge.wait()
        finished = purge.dead
        purge.kill()
        assert store.exists(claimed_key), "the purge deleted the file of an upload being claimed"
        assert finished, "the purge waited for the submission's lock"

    assert store.exists(claimed_key) and store.get(claimed_key) == PDF
    assert not store.exists(abandoned_key)  # the purge did run: the unclaimed stale upload is gone
    url = infra.database_url("intake")
    assert scalar(url, "SELECT count(*) FROM attachments WHERE id = :id", id=abandoned["id"]) == 0
    assert attachment_column(infra, "request_id::text", claimed["id"]) == result["id"]

    worker.purge_attachments()  # a later purge leaves the claimed file alone too
    assert store.exists(claimed_key)
    assert [a["id"] for a in rpc.get_request(caller, result["id"])["attachments"]] == [claimed["id"]]


class StoreThatCannotDelete:
    def __init__(self, store):
        self.store = store

    def delete(self, key):
        raise ConnectionError("object store unreachable")


def test_failed_object_delete_is_retried_by_the_next_purge_and_the_upload_cannot_be_claimed(
    infra, rpc, unique, store, database_sessions
):
    caller = operatore(unique)
    attachment = upload(rpc, caller, "abbandonato.pdf")
    key = object_key(infra, attachment["id"])
    make_stale(database_sessions, attachment["id"])

    purging_worker(database_sessions, StoreThatCannotDelete(store)).purge_attachments()
    url = infra.database_url("intake")
    assert store.exists(key)
    assert attachment_column(infra, "purged_at IS NOT NULL", attachment["id"])
    with pytest.raises(InvalidInput) as refused:  # its file is on the way out: nobody may claim it now
        rpc.submit_request(caller, submission(attachments=[attachment["id"]]))
    assert refused.value.errors[0]["code"] == "unknown_attachment"

    purging_worker(database_sessions, store).purge_attachments()
    assert not store.exists(key)
    assert scalar(url, "SELECT count(*) FROM attachments WHERE id = :id", id=attachment["id"]) == 0


def test_files_bundled_in_a_cassetto_archive_are_deleted_after_the_commit(
    infra, rpc, unique, store, database_sessions
):
    caller = {"sub": f"cdl-{unique}", "role": "intermediario", "matricole": ["7012345678"]}
    singles = [upload(rpc, caller, f"doc{i}.pdf", PDF + bytes([i])) for i in range(2)]
    body = {"subject": "f24", "text": "Versamento F24 non abbinato", "matricola": "7012345678"}
    request_id = rpc.submit_request(caller, dict(body, attachments=[a["id"] for a in singles]))["id"]
    keys = [object_key(infra, a["id"]) for a in singles]

    purging_worker(database_sessions, store).purge_attachments()
    assert not any(store.exists(key) for key in keys)
    for attachment in singles:
        assert attachment_column(infra, "purged_at IS NOT NULL", attachment["id"])
    archive = rpc.get_request(caller, request_id)["attachments"][0]
    found = rpc.attachment_download(caller, request_id, archive["id"])
    with zipfile.ZipFile(io.BytesIO(store.get(object_key(infra, found["id"])))) as bundle:
        assert len(bundle.namelist()) == 2
