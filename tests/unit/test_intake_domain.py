"""Intake rules with plain data: no broker, no database."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest

from services.intake.catalog import Catalog, default_catalog
from services.intake.rules import attachments, submission
from shared.access import Caller
from shared.errors import Forbidden, InvalidInput

OPERATORE = Caller.from_claims(
    {"sub": "op-1", "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}
)
REFERENTE = Caller.from_claims(
    {"sub": "ref-1", "role": "patronato_referente", "patronato": "001", "ufficio": "0001"}
)
INTERMEDIARIO = Caller.from_claims({"sub": "cdl-1", "role": "intermediario", "matricole": ["7012345678"]})
CITIZEN = {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"}
PROTOCOLLO = {"kind": "protocollo", "value": "INPS.7000.15/03/2026.0012345"}


def submit(caller, **fields):
    body = {"subject": "requisiti_accesso", "text": "Quali requisiti?", "contacts": {}}
    body.update(fields)
    return submission.validate_submission(caller, body, default_catalog())


def field_codes(excinfo):
    return {(e["field"], e["code"]) for e in excinfo.value.errors}


def test_operatore_generico_request_is_valid_with_citizen():
    valid = submit(OPERATORE, citizen=CITIZEN)
    assert valid.channel == submission.Channel("combipat", "operatore_generico", "patronato")
    assert valid.subject.sla_days == 10
    assert valid.patronato == {"ente": "001", "ufficio": "0001"}


@pytest.mark.parametrize("subject", ["sollecito_domanda", "prestazione_in_corso_o_respinta"])
def test_subjects_that_need_a_case_identifier(subject):
    with pytest.raises(InvalidInput) as refused:
        submit(OPERATORE, subject=subject, citizen=CITIZEN)
    assert ("case_identifier", "identifier_required") in field_codes(refused)
    assert (
        submit(OPERATORE, subject=subject, citizen=CITIZEN, case_identifier=PROTOCOLLO).case_identifier
        == PROTOCOLLO
    )


def test_malformed_protocol_number_names_the_field():
    with pytest.raises(InvalidInput) as refused:
        submit(
            OPERATORE,
            subject="sollecito_domanda",
            citizen=CITIZEN,
            case_identifier={"kind": "protocollo", "value": "12345"},
        )
    assert field_codes(refused) == {("case_identifier.value", "invalid_protocollo")}


def test_every_fault_is_listed_at_once():
    with pytest.raises(InvalidInput) as refused:
        submit(OPERATORE, subject="inesistente", citizen={"codice_fiscale": "XX", "cap": "00000"})
    assert field_codes(refused) == {
        ("subject", "unknown_subject"),
        ("citizen.codice_fiscale", "invalid_codice_fiscale"),
        ("citizen.cap", "unknown_cap"),
    }


def test_operatore_needs_the_citizen():
    with pytest.raises(InvalidInput) as refused:
        submit(OPERATORE)
    assert ("citizen", "citizen_required") in field_codes(refused)


def test_referente_without_citizen_is_a_referente_request_and_with_citizen_an_operatore_one():
    referente = submit(REFERENTE, subject="chiarimento_normativo", cric_section="soggetto_contribuente")
    assert referente.channel.profile == "referente_regionale"
    assert referente.cric_section == "soggetto_contribuente"
    assert submit(REFERENTE, citizen=CITIZEN).channel.profile == "operatore_generico"
    with pytest.raises(InvalidInput):
        submit(OPERATORE, subject="chiarimento_normativo", citizen=CITIZEN)


def test_a_referente_names_the_cric_section_its_question_concerns():
    """Circ. 135/2011: the CRIC has three sections; the referente says which one it writes to."""
    with pytest.raises(InvalidInput) as missing:
        submit(REFERENTE, subject="chiarimento_normativo")
    with pytest.raises(InvalidInput) as not_expected:
        submit(REFERENTE, citizen=CITIZEN, cric_section="pensioni")

    assert field_codes(missing) == {("cric_section", "cric_section_required")}
    assert field_codes(not_expected) == {("cric_section", "cric_section_not_expected")}


def test_patronato_request_needs_office_scope_in_the_token():
    with pytest.raises(Forbidden):
        submit(Caller(sub="x", role="patronato_operatore"), citizen=CITIZEN)


def test_cassetto_matricola_must_be_delegated():
    assert submit(INTERMEDIARIO, subject="f24", matricola="7012345678").matricola == "7012345678"
    with pytest.raises(InvalidInput) as refused:
        submit(INTERMEDIARIO, subject="f24", matricola="7099999999")
    assert field_codes(refused) == {("matricola", "matricola_not_delegated")}


def test_officials_cannot_submit():
    with pytest.raises(Forbidden):
        submit(Caller(sub="s", role="sede_operatore"))


def test_closed_2020_catalog_is_readable_but_not_offered():
    catalog = default_catalog()
    old = catalog.find_version("combipat-2020", "sollecito_pratica")
    assert old.label == "Sollecito su pratica presentata" and not old.active
    offered = {s.code for s in catalog.offered("combipat", ("operatore_generico",))}
    assert offered == {"sollecito_domanda", "prestazione_in_corso_o_respinta", "requisiti_accesso"}


def test_catalog_refuses_an_sla_outside_the_four_thresholds():
    version = {
        "version": "x",
        "channel": "c",
        "status": "active",
        "subjects": [
            {
                "code": "a",
                "label": "A",
                "profiles": [],
                "identifier_kinds": [],
                "identifier_required": False,
                "sla_days": 7,
                "area": "x",
            }
        ],
    }
    with pytest.raises(ValueError):
        Catalog([version])


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        ("Testo semplice àèì".encode(), "text/plain"),
        (b"MZ\x90\x00" + b"\x00" * 60, None),  # a Windows executable, whatever its name
        (b"\x7fELF\x02\x01", None),
    ],
)
def test_attachment_type_is_taken_from_the_content(data, expected):
    assert attachments.sniff_content_type(data) == expected


def test_disguised_executable_is_refused():
    with pytest.raises(InvalidInput) as refused:
        attachments.check_attachment("fattura.pdf", b"MZ\x90\x00" + b"\x00" * 60)
    assert field_codes(refused) == {("file", "file_type_not_allowed")}


def test_file_names_are_sanitised_and_get_the_real_extension():
    assert attachments.sanitise_filename("../../etc/passwd", "text/plain") == "passwd.txt"
    assert (
        attachments.sanitise_filename("Domanda “firmata” è.PDF", "application/pdf") == "Domanda firmata e.pdf"
    )
    assert attachments.sanitise_filename("a<b>|c.pdf", "application/pdf") == "a_b_c.pdf"
    assert attachments.sanitise_filename("", "image/png") == "allegato.png"


def test_patronato_attachments_limited_to_6_mb_in_total():
    channel = submission.Channel("combipat", "operatore_generico", "patronato")
    attachments.check_attachments_total(channel, [3 * 1024 * 1024, 3 * 1024 * 1024])
    with pytest.raises(InvalidInput) as refused:
        attachments.check_attachments_total(channel, [3 * 1024 * 1024, 3 * 1024 * 1024 + 1])
    assert field_codes(refused) == {("attachments", "attachments_too_large")}


def test_granted_operator_may_act_as_referente():
    assert submission.channel_for(OPERATORE, {}, referente_granted=True).profile == "referente_regionale"
    assert submission.channel_for(OPERATORE, {}, referente_granted=False).profile == "operatore_generico"
    assert submission.subject_profiles_for(OPERATORE, referente_granted=True)[1] == (
        "referente_regionale",
        "operatore_generico",
    )


def test_cassetto_allows_at_most_three_files():
    channel = submission.Channel("cassetto", "intermediario", "cassetto")
    attachments.check_attachment_count(channel, 3)
    with pytest.raises(InvalidInput) as refused:
        attachments.check_attachment_count(channel, 4)
    assert field_codes(refused) == {("attachments", "too_many_attachments")}


# ---- archives ------------------------------------------------------------------------


def zip_of(*members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX_PARTS = (("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document/>"))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 60


@pytest.mark.parametrize(
    "members",
    [
        [("setup.exe", b"not even a real program")],
        [("documenti/fattura.pdf", EXE)],  # an executable whatever its name
        [("avvio.JS", "WScript.Echo(1)")],
        [("leggimi.txt", "#!/bin/sh\nrm -rf ~\n")],
        [("fattura.pdf.exe. ", b"x")],  # Windows drops trailing dots and spaces
        [("Utility.app/Contents/Info.plist", "<plist/>")],  # a macOS application is a folder
        [*DOCX_PARTS, ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")],  # a macro document renamed .docx
        [*DOCX_PARTS, ("word/embeddings/oleObject1.exe", EXE)],
        [("pratiche.zip", zip_of(("allegati.zip", zip_of(("run.bat", "@echo off")))))],  # nested
    ],
    ids=["exe name", "exe content", "script", "shebang", "dot", "mac app", "macro", "office", "nested"],
)
def test_archive_holding_an_executable_is_refused_like_the_executable(members):
    with pytest.raises(InvalidInput) as refused:
        attachments.check_attachment("documenti.zip", zip_of(*members))
    assert field_codes(refused) == {("file", "file_type_not_allowed")}


@pytest.mark.parametrize(
    "members, content_type",
    [
        ([("domanda.pdf", b"%PDF-1.4\n..."), ("note.txt", "nessun programma qui")], "application/zip"),
        (list(DOCX_PARTS), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ([("allegati/contratto.docx", zip_of(*DOCX_PARTS)), ("cartella/", b"")], "application/zip"),
    ],
    ids=["zip", "docx", "zip with a docx"],
)
def test_archives_of_documents_are_accepted(members, content_type):
    assert attachments.check_attachment("documenti", zip_of(*members))[0] == content_type


def test_corrupt_archive_is_refused():
    data = zip_of(("domanda.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 40))
    with pytest.raises(InvalidInput) as refused:
        attachments.check_attachment("documenti.zip", data[: len(data) // 2] + b"\x00" * 100 + data[-60:])
    assert field_codes(refused) == {("file", "file_type_not_allowed")}


def test_archives_that_cannot_be_checked_are_refused():
    encrypted = bytearray(zip_of(("segreto.txt", b"cifrato")))
    encrypted[6] |= 0x1  # the "encrypted" flag, in the local header and in the central directory
    encrypted[encrypted.find(b"PK\x01\x02") + 8] |= 0x1
    many = zip_of(*[(f"f{i}.txt", b"") for i in range(attachments.ARCHIVE_MAX_MEMBERS + 1)])
    bzip2 = zip_of(("note.txt", "testo"), compression=zipfile.ZIP_BZIP2)
    nested = zip_of(("a.txt", "fondo"))
    for _ in range(attachments.ARCHIVE_MAX_DEPTH):
        nested = zip_of(("dentro.zip", nested))
    for data in (bytes(encrypted), many, bzip2, nested):
        with pytest.raises(InvalidInput) as refused:
            attachments.check_archive(data)
        assert field_codes(refused) == {("file", "file_type_not_allowed")}


def test_zip_bomb_is_never_inflated_whole(monkeypatch):
    bomb = zip_of(("zeri.txt", b"\x00" * (64 * 1024 * 1024)))  # 64 MB that compress to ~64 KB
    tracemalloc.start()
    try:
        attachments.check_archive(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    # and one that would unpack past the limit is refused from its declared sizes
    monkeypatch.setattr(attachments, "ARCHIVE_MAX_UNPACKED", 32 * 1024 * 1024)
    with pytest.raises(InvalidInput):
        attachments.check_archive(bomb)


def test_archive_glued_to_another_file_is_looked_into():
    assert attachments.check_attachment("foto.png", PNG + zip_of(("nota.txt", "ciao")))[0] == "image/png"
    with pytest.raises(InvalidInput):
        attachments.check_attachment("foto.png", PNG + zip_of(("foto.exe", EXE)))


# ---- the Cassetto catalog: the seed's areas and more, SLA sources marked ------------------------


def test_the_cassetto_offers_the_seeds_areas_and_the_others_of_the_cassetto():
    catalog = Catalog.from_file()
    offered = {s.code: s for s in catalog.offered("cassetto", ("azienda",))}

    # msg 1986/2011: "Regolarità Contributiva, DM trasmessi, F24, etc."
    assert {"generico_informativo", "regolarita_contributiva", "dm_uniemens", "f24"} <= set(offered)
    assert {
        "rateazioni",
        "agevolazioni_sgravi",
        "ammortizzatori_sociali",
        "note_rettifica",
        "iscrizione_variazioni",
    } <= set(offered)
    assert "1986/2011" in offered["f24"].source
    assert "non elencata" in offered["rateazioni"].source


def test_every_measured_subject_says_whether_its_sla_comes_from_a_seed_or_is_a_default():
    catalog = Catalog.from_file()
    measured = [s for s in catalog.subjects if s.sla_days is not None]

    assert {s.sla_days_source for s in measured} <= {"seed", "default"}
    assert all(s.sla_days_source for s in measured)
    # no seed says which subject has which threshold: today every value is a default
    assert {s.sla_days_source for s in measured} == {"default"}


def test_requests_filed_under_the_earlier_cassetto_catalog_still_display():
    catalog = Catalog.from_file()

    assert catalog.find_version("cassetto-2018", "f24").label == "Versamenti F24"
    assert catalog.find_active("cassetto", "azienda", "f24").catalog_version == "cassetto-2026"


def test_a_subject_without_its_sla_source_is_refused():
    version = {
        "version": "x",
        "channel": "c",
        "status": "active",
        "subjects": [
            {
                "code": "a",
                "label": "A",
                "profiles": [],
                "identifier_kinds": [],
                "identifier_required": False,
                "sla_days": 10,
                "sla_days_source": "invented",
                "area": "x",
            }
        ],
    }
    with pytest.raises(ValueError):
        Catalog([version])
