"""The access policy on plain values: claims, who reads what, who works what, routing."""

from __future__ import annotations

import pytest

from shared import access
from shared.access import Caller, Ownership
from shared.errors import Forbidden, NotFound, Unauthorized

PATRONATO_REQUEST = Ownership(
    origin="patronato",
    patronato_ente="001",
    patronato_ufficio="0001",
    assigned_sede="0704",
    assigned_region="Lazio",
)
CASSETTO_REQUEST = Ownership(
    origin="cassetto",
    matricola="7012345678",
    consulente="BNCLRA80A41H501Y",
    assigned_sede="0704",
    assigned_region="Lazio",
)
TRIAGE_REQUEST = Ownership(origin="cassetto", matricola="7099999999")


def caller(**claims) -> Caller:
    claims.setdefault("sub", "u-1")
    return Caller.from_claims(claims)


OPERATORE = caller(role="patronato_operatore", patronato="001", ufficio="0001")
OFFICIAL = caller(role="sede_operatore", sede="0704", groups=["APP_FEA_COMBID"])


# ---- work queues: an official scoped to areas -------------------------------------------------

PENSIONI_OFFICIAL = caller(role="sede_operatore", sede="0790", groups=["APP_FEA_COMBID"], aree=["pensioni"])


def in_queue(queue, origin="patronato", kind="cric"):
    return Ownership(
        origin=origin, assigned_sede="0790", assigned_region="Lazio", assigned_queue=queue, assigned_kind=kind
    )


def test_an_official_scoped_to_an_area_reads_and_works_only_that_queue_of_the_sede():
    assert access.can_read(PENSIONI_OFFICIAL, in_queue("pensioni"))
    assert not access.can_read(PENSIONI_OFFICIAL, in_queue("soggetto_contribuente"))
    access.require_work(PENSIONI_OFFICIAL, in_queue("pensioni"))
    with pytest.raises(NotFound):
        access.require_work(PENSIONI_OFFICIAL, in_queue("sostegno_reddito"))
    # the sede's own communications are the whole sede's reading
    assert access.can_read(PENSIONI_OFFICIAL, in_queue("comunicazioni", origin="sede", kind="sede"))
    # an official without areas reads the whole sede
    whole = caller(role="sede_operatore", sede="0790", groups=["APP_FEA_COMBID"])
    assert access.can_read(whole, in_queue("soggetto_contribuente"))


def test_the_area_scope_does_not_narrow_the_sedes_appointments():
    parties = access.AppointmentParties(booked_by="op-1", sede="0790", region="Lazio")
    assert access.can_see_appointment(PENSIONI_OFFICIAL, parties)
    assert access.appointment_scope(PENSIONI_OFFICIAL).matches(parties.office)


def test_reassignment_by_an_area_official_is_limited_to_its_queue():
    access.require_reassignment(PENSIONI_OFFICIAL, {"kind": "cric", "code": "0790", "queue": "pensioni"})
    with pytest.raises(Forbidden):
        access.require_reassignment(
            PENSIONI_OFFICIAL, {"kind": "cric", "code": "0790", "queue": "soggetto_contribuente"}
        )


# ---- triage: the region's triage officials own what no rule placed ------------------------------

TRIAGE_LAZIO = Ownership(
    origin="patronato", assigned_region="Lazio", assigned_queue="generale", assigned_kind="triage"
)
TRIAGE_NOWHERE = Ownership(
    origin="cassetto", matricola="0012345678", assigned_queue="generale", assigned_kind="triage"
)


def triage_official(**claims):
    return caller(
        role="sede_operatore", sede="0700", groups=["APP_FEA_COMBID", "COMBID_SMISTAMENTO"], **claims
    )


def test_a_regional_triage_official_reads_works_and_moves_the_regions_triage():
    lazio = triage_official(regione="Lazio")

    assert access.can_read(lazio, TRIAGE_LAZIO)
    access.require_work(lazio, TRIAGE_LAZIO)
    access.require_reassignment(
        lazio, {"kind": "triage", "code": "TRIAGE", "queue": "generale", "region": "Lazio"}
    )
    assert not access.can_read(lazio, TRIAGE_NOWHERE)
    assert not access.can_read(triage_official(regione="Lombardia"), TRIAGE_LAZIO)
    assert access.can_read(triage_official(scope="national"), TRIAGE_NOWHERE)


def test_without_the_triage_group_an_official_does_not_see_triage():
    official = caller(role="sede_operatore", sede="0700", groups=["APP_FEA_COMBID"], regione="Lazio")

    assert not access.can_read(official, TRIAGE_LAZIO)
    assert not access.can_read(OFFICIAL, TRIAGE_LAZIO)
    with pytest.raises(Forbidden):
        access.require_reassignment(official, {"kind": "triage", "code": "TRIAGE", "region": "Lazio"})


def test_a_triage_official_still_sees_the_appointments_of_its_sede_only():
    lazio = triage_official(regione="Lazio")
    assert access.appointment_scope(lazio).matches(Ownership(assigned_sede="0700"))
    assert not access.appointment_scope(lazio).matches(Ownership(assigned_region="Lazio"))


# ---- claims ---------------------------------------------------------------------------------


def test_claims_become_a_typed_caller_and_travel_unchanged():
    built = caller(
        role="intermediario",
        matricole=["7012345678", "7012345678"],
        codice_fiscale="BNCLRA80A41H501Y",
        iat=1,
        exp=2,
        iss="idp",
        jti="x",
    )  # claims of the identity provider are ignored
    assert built.matricole == ("7012345678",)
    assert Caller.from_claims(built.as_claims()) == built


@pytest.mark.parametrize(
    "claims, at_fault",
    [
        ({"groups": "APP_FEA_COMBID"}, "groups"),  # a string is not a list: no substring matches
        ({"sub": "x" * 101}, "sub"),
        ({"sub": "a\x00b"}, "sub"),
        ({"sede": "07041"}, "sede"),
        ({"patronato": "0" * 21}, "patronato"),
        ({"matricole": ["123"]}, "matricole"),
        ({"scope": "planetary"}, "scope"),
        ({"regione": 12}, "regione"),
        ({"regione": "Lazio\n"}, "regione"),
        ({"role": "hacker"}, "role"),
    ],
)
def test_malformed_claims_are_refused_naming_the_claim(claims, at_fault):
    claims = {"sub": "u-1", "role": "direttore", **claims}
    with pytest.raises(Unauthorized) as refused:
        Caller.from_claims(claims)
    assert refused.value.code == "invalid_claims"
    assert at_fault in refused.value.extra["claims"]


def test_empty_claims_are_missing_claims():
    assert caller(role="direttore", sede="", regione="", groups=[]) == Caller(sub="u-1", role="direttore")


# ---- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, sees_patronato, sees_cassetto, sees_triage",
    [
        (OPERATORE, True, False, False),
        (caller(role="patronato_operatore", patronato="001", ufficio="0002"), False, False, False),
        # finding 5: without patronato/ufficio claims nothing matches (None is never equal to None here)
        (caller(role="patronato_operatore"), False, False, False),
        (caller(role="patronato_referente", patronato="001"), False, False, False),
        (caller(role="azienda", matricole=["7012345678"]), False, True, False),
        (caller(role="intermediario", codice_fiscale="BNCLRA80A41H501Y"), False, True, False),
        (caller(role="intermediario"), False, False, False),
        (OFFICIAL, True, True, False),
        (caller(role="sede_operatore", sede="0704"), False, False, False),  # no group
        (
            caller(role="sede_operatore", groups=["APP_FEA_COMBID"]),
            False,
            False,
            False,
        ),  # no sede: no triage either
        (caller(role="sede_operatore", sede="0101", groups=["APP_FEA_COMBID"]), False, False, False),
        (caller(role="direttore", sede="0704"), True, True, False),
        (caller(role="direttore", regione="Lazio"), True, True, False),
        (caller(role="direttore", regione="Piemonte"), False, False, False),
        (caller(role="direttore", scope="national"), True, True, True),
        (caller(role="direttore"), False, False, False),
        (
            caller(role="direttore", sede=""),
            False,
            False,
            False,
        ),  # finding 5: an empty sede is not the country
        (
            caller(role="direttore", sede="0101", scope="national"),
            False,
            False,
            False,
        ),  # the narrowest scope wins
        (caller(role="admin"), True, True, True),
    ],
)
def test_who_reads_what(who, sees_patronato, sees_cassetto, sees_triage):
    assert access.can_read(who, PATRONATO_REQUEST) is sees_patronato
    assert access.can_read(who, CASSETTO_REQUEST) is sees_cassetto
    assert access.can_read(who, TRIAGE_REQUEST) is sees_triage


def test_lists_need_a_scope():
    for scopeless in (caller(role="patronato_operatore"), caller(role="direttore"), caller(role="azienda")):
        with pytest.raises(Forbidden) as refused:
            access.require_some_scope(scopeless)
        assert refused.value.code == "missing_scope"
    with pytest.raises(Forbidden) as no_group:
        access.require_some_scope(caller(role="sede_operatore", sede="0704"))
    assert no_group.value.code == "missing_group"
    assert access.require_some_scope(OPERATORE).matches(PATRONATO_REQUEST)


def test_sql_condition_is_the_same_scope():
    from sqlalchemy import column
    from sqlalchemy.dialects import postgresql

    columns = {name: column(name) for name in access.OWNERSHIP_FIELDS}
    sql = access.sql_condition(
        access.read_scope(
            caller(
                role="intermediario",
                matricole=["7012345678", "7000000001"],
                codice_fiscale="BNCLRA80A41H501Y",
            )
        ),
        columns,
    )
    text = str(sql.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    assert text == "matricola IN ('7000000001', '7012345678') OR consulente = 'BNCLRA80A41H501Y'"
    assert str(access.sql_condition(access.NOTHING, columns)) == "false"
    assert str(access.sql_condition(access.EVERYTHING, columns)) == "true"


# ---- doing ----------------------------------------------------------------------------------


def test_officials_work_only_their_sede_with_the_group_and_the_sede_claim():
    access.require_work(OFFICIAL, PATRONATO_REQUEST)
    access.require_work(caller(role="admin"), TRIAGE_REQUEST)
    with pytest.raises(NotFound):
        access.require_work(
            caller(role="sede_operatore", sede="0101", groups=["APP_FEA_COMBID"]), PATRONATO_REQUEST
        )
    for refused, code in [
        (caller(role="sede_operatore", sede="0704"), "missing_group"),
        (caller(role="sede_operatore", groups=["APP_FEA_COMBID"]), "missing_sede_scope"),
        (caller(role="direttore", scope="national"), "official_only"),
        (OPERATORE, "official_only"),
    ]:
        with pytest.raises(Forbidden) as denied:
            access.require_work(refused, PATRONATO_REQUEST)
        assert denied.value.code == code


def test_only_the_requesters_who_see_a_request_follow_it_up():
    access.require_own_request(OPERATORE, PATRONATO_REQUEST)
    with pytest.raises(NotFound):  # finding 5: a scopeless patronato token reminded a company's request
        access.require_own_request(caller(role="patronato_operatore"), CASSETTO_REQUEST)
    with pytest.raises(Forbidden):
        access.require_own_request(OFFICIAL, PATRONATO_REQUEST)


# ---- routing --------------------------------------------------------------------------------


ROMA = {"kind": "sede", "code": "0704", "name": "Roma", "region": "Lazio"}
MILANO = {"kind": "sede", "code": "0908", "name": "Milano", "region": "Lombardia"}


def test_decision_history_is_for_who_could_see_the_request_where_it_was():
    history = [ROMA, MILANO]
    for allowed in (
        OFFICIAL,
        caller(role="direttore", regione="Lombardia"),
        caller(role="direttore", scope="national"),
        caller(role="admin"),
    ):
        access.require_decision_history(allowed, history)
    # finding 5: a director limited to one sede read any request's routing history
    with pytest.raises(NotFound):
        access.require_decision_history(caller(role="direttore", sede="0101"), history)
    with pytest.raises(Forbidden):
        access.require_decision_history(caller(role="direttore"), history)
    with pytest.raises(Forbidden):
        access.require_decision_history(
            caller(role="sede_operatore", sede="0704", groups=["APP_FEA_COMB"]), history
        )


def test_reassignment_by_an_official_of_the_current_sede():
    access.require_reassignment(OFFICIAL, ROMA)
    access.require_reassignment(caller(role="admin"), {"kind": "triage", "code": "TRIAGE"})
    with pytest.raises(Forbidden):
        access.require_reassignment(OFFICIAL, MILANO)
    with pytest.raises(Forbidden):  # triage is no sede: only an admin moves it
        access.require_reassignment(OFFICIAL, {"kind": "triage", "code": "0704"})
