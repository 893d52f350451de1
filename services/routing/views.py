"""Routing's read side: a dry run of the rules, the decisions of a request as recorded
(each replayed on the reference version it used), the sedi in force, the reference
versions. Nothing here writes; the use cases that record a decision are in
``use_cases.py``.
"""

from __future__ import annotations

from datetime import datetime

from services.routing.decision import store as decision_store
from services.routing.decision.table import RoutingTable
from services.routing.decision.values import MANUAL_KEPT_RULE, MANUAL_RULE, RequestFacts
from services.routing.reference import store as reference_store
from services.routing.reference.model import PROVINCIAL_TYPES
from shared import access
from shared.access import Caller
from shared.clock import rome_date
from shared.contracts import ExplainQuery, SediQuery, load
from shared.errors import InvalidInput, field_error

# ---- decisions ----------------------------------------------------------------------------------


def explain(table: RoutingTable, clock, caller: Caller, query) -> dict:
    """A dry run: what routing would decide for these facts on that day; stores nothing."""
    access.require_routing_consultation(caller)
    if not isinstance(query, dict):
        raise InvalidInput.from_errors([field_error("query", "not_an_object", "Parametri non validi.")])
    facts = load(ExplainQuery, query)
    day = facts.pop("on") or rome_date(clock.now())
    decision = table.decide_facts(RequestFacts(**facts), day)
    return {"dry_run": True, **decision.as_dict()}


def recorded_decision(session, request_id) -> dict:
    """The current decision of a request (the latest)."""
    return decision_store.decision_history(session, request_id)[-1]


def explain_recorded(session, caller: Caller, request_id, tables_for_version) -> dict:
    """Every decision of a request as recorded, each replayed on the reference version it
    used: the explanation rests on what was stored, and the replay shows it still holds."""
    history = decision_store.decision_history(session, request_id)
    access.require_decision_history(caller, [decision["assignment"] for decision in history])
    for decision in history:
        decision["replay"] = _replay(session, decision, tables_for_version)
    return {"request_id": history[-1]["request_id"], "current": history[-1], "history": history}


def _replay(session, decision: dict, tables_for_version) -> dict | None:
    if decision["rule"] in (MANUAL_RULE, MANUAL_KEPT_RULE) or not decision["effective_day"]:
        return None  # a person decided: the recorded reason is the explanation
    table = tables_for_version(session, decision["reference_version"])
    if table is None:
        return {"reference_version": decision["reference_version"], "available": False}
    day = datetime.fromisoformat(decision["effective_day"]).date()
    again = table.decide_facts(RequestFacts.from_dict(decision["request"]), day)
    return {
        "reference_version": decision["reference_version"],
        "available": True,
        "rule": again.rule,
        "assignment": again.assignment.as_dict(),
        "same_decision": again.rule == decision["rule"]
        and again.assignment.same_place(decision["assignment"]),
    }


# ---- the reference data in force ---------------------------------------------------------------


def list_sedi(table: RoutingTable, clock, caller: Caller, query) -> dict:
    access.require_routing_consultation(caller)
    wanted = load(SediQuery, query if isinstance(query, dict) else {})
    day = wanted["on"] or rome_date(clock.now())
    if not table.loaded:
        return {"reference_version": None, "on": day.isoformat(), "sedi": [], "cric": []}
    view = table.view(day)
    covered = {}
    for codice, sede in view.local_sede.items():
        covered.setdefault(sede.code, []).append(codice)
    # a provincial sede covers its province but the comuni listed for local sedi
    sedi = [
        {
            **_jsonable(sede.as_dict()),
            "province_wide": sede.type in PROVINCIAL_TYPES,
            "comuni": sorted(covered.get(sede.code, [])),
        }
        for sede in sorted(view.sedi.values(), key=lambda s: s.code)
        if (wanted["region"] in (None, sede.region)) and (wanted["type"] in (None, sede.type))
    ]
    cric = [
        _jsonable(c.as_dict())
        for c in sorted(view.cric.values(), key=lambda c: c.code)
        if wanted["region"] in (None, c.region)
    ]
    return {"reference_version": table.version, "on": day.isoformat(), "sedi": sedi, "cric": cric}


def _jsonable(row: dict) -> dict:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}


def reference_versions(session, caller: Caller) -> dict:
    access.require_routing_consultation(caller)
    return {
        "active": reference_store.active_version_id(session),
        "versions": reference_store.list_versions(session),
    }
