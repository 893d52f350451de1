"""The access policy's SQL filter and its Python check agree, on the real database.

Requests with every mix of ownership facts are stored; for each caller the rows the SQL
filter lists must be exactly the rows ``access.can_read`` accepts.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.intake.models import Request, ownership
from services.intake.views import scope_condition
from shared import access
from shared.access import Caller

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def stored(database_sessions):
    """One request per combination of office, matricola, consulente and assigned sede/region."""
    tag = uuid.uuid4().hex[:8]
    offices = [(None, None), ("001", "0001"), ("001", "0002"), ("002", "0001")]
    matricole = [None, "7012345678", "7099999999"]
    consulenti = [None, "BNCLRA80A41H501Y"]
    places = [
        (None, None, None, None),
        ("0704", "Lazio", "pensioni", "sede"),
        ("0704", "Lazio", "sostegno_reddito", "sede"),
        ("0704", "Lazio", "comunicazioni", "sede"),  # the sede's own communication
        ("0703", "Lazio", "pensioni", "sede"),
        ("0908", "Lombardia", "sostegno_reddito", "polo"),
        (None, "Lazio", "generale", "triage"),
    ]
    sessions = database_sessions("intake")
    ids = []
    with sessions.begin() as session:
        for (ente, ufficio), matricola, consulente, (sede, region, queue, kind) in itertools.product(
            offices, matricole, consulenti, places
        ):
            request = Request(
                id=uuid.uuid4(),
                protocol=f"T.{tag}.{len(ids)}",
                origin="sede" if queue == "comunicazioni" else "patronato" if ente else "cassetto",
                channel="x",
                profile="x",
                subject_code="x",
                catalog_version="x",
                area="pensioni",
                sla_days=15,
                text=tag,
                contacts={},
                requester_sub=f"policy-{tag}",
                state="open",
                patronato_ente=ente,
                patronato_ufficio=ufficio,
                matricola=matricola,
                consulente_codice_fiscale=consulente,
                assigned_sede=sede,
                assigned_region=region,
                assigned_queue=queue,
                assigned_kind=kind,
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(request)
            ids.append(request.id)
    return sessions, tag, set(ids)


CALLERS = [
    {"role": "patronato_operatore", "patronato": "001", "ufficio": "0001"},
    {"role": "patronato_referente", "patronato": "002", "ufficio": "0001"},
    {"role": "patronato_operatore"},
    {"role": "azienda", "matricole": ["7012345678"]},
    {"role": "intermediario", "matricole": ["7099999999"], "codice_fiscale": "BNCLRA80A41H501Y"},
    {"role": "sede_operatore", "sede": "0704", "groups": ["APP_FEA_COMBID"]},
    {"role": "sede_operatore", "sede": "0704", "groups": ["APP_FEA_COMBID"], "aree": ["pensioni"]},
    {
        "role": "sede_operatore",
        "sede": "0700",
        "groups": ["APP_FEA_COMBID", "COMBID_SMISTAMENTO"],
        "regione": "Lazio",
    },
    {
        "role": "sede_operatore",
        "sede": "0700",
        "groups": ["APP_FEA_COMBID", "COMBID_SMISTAMENTO"],
        "scope": "national",
    },
    {"role": "direttore", "sede": "0908"},
    {"role": "direttore", "regione": "Lazio"},
    {"role": "direttore", "scope": "national"},
    {"role": "admin"},
]


@pytest.mark.parametrize("claims", CALLERS, ids=lambda claims: "-".join(str(v) for v in claims.values()))
def test_sql_lists_exactly_what_the_policy_reads(stored, claims):
    sessions, tag, ids = stored
    caller = Caller.from_claims({"sub": "policy", **claims})
    with sessions() as session:
        rows = session.scalars(select(Request).where(Request.text == tag)).all()
        readable = {row.id for row in rows if access.can_read(caller, ownership(row))}
        if access.read_scope(caller).denies_all:
            listed = set()
        else:
            listed = set(
                session.scalars(
                    select(Request.id).where(Request.text == tag, scope_condition(access.read_scope(caller)))
                ).all()
            )
    assert {row.id for row in rows} == ids
    assert listed == readable
    assert readable or claims == {"role": "patronato_operatore"}


def test_every_ownership_fact_has_its_column():
    from services.intake.models import OWNERSHIP_COLUMNS

    assert set(OWNERSHIP_COLUMNS) == set(access.OWNERSHIP_FIELDS)
