"""Decisions taken by people, and re-routing after a change of subject.

An official may move a request to another sede or CRIC, with a reason (``manual_decision``).
When the subject changes later the rules are applied again (``reroute``), but a manual
reassignment stands while the rules still give what it corrected.
"""

from __future__ import annotations

from datetime import date

from services.routing.decision.rules import cric_section_of, queue_of
from services.routing.decision.table import RoutingTable
from services.routing.decision.values import (
    MANUAL_KEPT_RULE,
    MANUAL_RULE,
    MATCHED,
    NO_REFERENCE_VERSION,
    Assignment,
    Decision,
    RequestFacts,
    RuleCheck,
)
from shared.access import Caller


def manual_decision(
    table: RoutingTable,
    request: RequestFacts,
    target_code: str,
    reason: str,
    actor: Caller,
    current: dict,
    on: date,
) -> Decision | None:
    """An official moves the request to ``target_code`` (a sede or a CRIC in force on ``on``).
    Returns None when no such structure exists."""
    view = table.view(on)
    sede, cric = view.sedi.get(target_code), view.cric.get(target_code)
    if sede is None and cric is None:
        return None
    queue = queue_of(view, request)
    if cric is not None:
        queue = cric_section_of(view, request)[0] or queue
    name = sede.name if sede is not None else cric.name
    text = f"Riassegnata a mano a {name} da {actor.sub} ({actor.role}): {reason}"
    assignment = Assignment(
        "sede" if sede is not None else "cric", target_code, name, text, queue, (sede or cric).region
    )
    inputs = {
        "actor": actor.sub,
        "actor_role": actor.role,
        "actor_sede": actor.sede,
        "reason": reason,
        "previous": current.get("assignment"),
        "overrides": rule_based_target(current),
    }
    check = RuleCheck(MANUAL_RULE, MATCHED, "manual", text)
    return Decision(
        assignment, MANUAL_RULE, inputs, table.version or NO_REFERENCE_VERSION, (check,), request, on
    )


def rule_based_target(recorded: dict) -> dict | None:
    """The (kind, code) the rules had chosen, even behind a chain of manual reassignments."""
    if recorded.get("rule") in (MANUAL_RULE, MANUAL_KEPT_RULE):
        return (recorded.get("inputs") or {}).get("overrides")
    assignment = recorded.get("assignment") or {}
    return {"kind": assignment.get("kind"), "code": assignment.get("code")}


def reroute(table: RoutingTable, request: RequestFacts, current: dict, on: date) -> Decision:
    """Re-apply the rules after a change of subject.

    A manual reassignment stands while the rules still give what it corrected (the new
    subject does not change where the rules send the request); if the rules now give
    another structure, the rules' decision applies.
    """
    decision = table.decide_facts(request, on)
    overrides = rule_based_target(current)
    manual = current.get("rule") in (MANUAL_RULE, MANUAL_KEPT_RULE)
    ruled = {"kind": decision.assignment.kind, "code": decision.assignment.code}
    if not manual or ruled != overrides:
        return decision
    kept = current["assignment"]
    # the structure stays, the work queue follows the new subject
    queue = decision.assignment.queue
    if kept["kind"] == "cric":
        queue = cric_section_of(table.view(on), request)[0] or kept["queue"]
    text = (
        f"Cambio oggetto: le regole indicano ancora {decision.assignment.name}, "
        f"resta valida la riassegnazione manuale a {kept['name']}"
    )
    check = RuleCheck(MANUAL_KEPT_RULE, MATCHED, "manual_kept", text)
    assignment = Assignment(kept["kind"], kept["code"], kept["name"], text, queue, kept.get("region"))
    inputs = {**(current.get("inputs") or {}), "rules_gave": decision.assignment.as_dict()}
    return decision._replace(
        assignment=assignment, rule=MANUAL_KEPT_RULE, inputs=inputs, rule_chain=(*decision.rule_chain, check)
    )
