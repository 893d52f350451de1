"""Routing rules, as plain code: which structure is competent for a request, and why.

A ``RoutingTable`` is an in-memory snapshot of one reference-data version. For the day
of the decision it builds (once) a ``ReferenceView`` of the rows in force that day, then
``decide`` walks ``RULES`` in order of precedence:

1. ``referente_regionale_cric``  referente regionale → the CRIC of the region of the
   patronato office, in the section of the subject;
2. ``polo``                      a subject with a polo (for the request's region, else
   national) → the polo;
3. ``operatore_generico_cap``    operatore generico → the sede covering the citizen's
   comune (CAP);
4. ``cassetto_matricola``        cassetto → the sede di competenza of the matricola
   (company registry, else the documented fallback on its 2-digit provincial prefix);
5. ``triage``                    otherwise → the triage queue, with the reasons.

Each rule answers "matched", "not applicable" or "not resolved" (it applies, but the data
cannot place the request) with a stable code and an Italian detail; the decision keeps
that chain, the inputs the deciding rule used, the target and the reference version, so
it can be explained later from what was recorded. Nothing is dropped: a request no rule
places goes to triage with the reasons of the rules that applied.

No nameko, no SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from services.routing.decisions import (  # noqa: F401 - the domain's vocabulary, for its callers
    MANUAL_KEPT_RULE,
    MANUAL_RULE,
    MATCHED,
    NO_REFERENCE_VERSION,
    NOT_APPLICABLE,
    NOT_RESOLVED,
    TRIAGE_CODE,
    Assignment,
    Decision,
    RequestFacts,
    RuleCheck,
    Verdict,
)
from services.routing.istat import comuni_of_cap, italian_provinces
from services.routing.rules import (
    cassetto_matricola,
    operatore_generico_cap,
    polo,
    queue_of,
    referente_regionale_cric,
    triage,
)
from services.routing.structures import Comune, ReferenceData
from services.routing.view import ReferenceView
from shared.access import Caller
from shared.clock import rome_date

# ---- the table ---------------------------------------------------------------------------


class RoutingTable:
    """One reference version, indexed for routing. ``RoutingTable.empty()`` when none is loaded."""

    MAX_CACHED_DAYS = 8

    def __init__(
        self,
        version: str | None,
        data: ReferenceData | None = None,
        provinces: dict | None = None,
        cap_lookup: Callable[[str], tuple[Comune, ...]] = comuni_of_cap,
    ):
        self.version = version
        self.data = data or ReferenceData()
        self.provinces = provinces if provinces is not None else (italian_provinces() if version else {})
        self.cap_lookup = cap_lookup
        self._views: dict[date, ReferenceView] = {}

    @classmethod
    def empty(cls) -> RoutingTable:
        return cls(None)

    @property
    def loaded(self) -> bool:
        return self.version is not None

    def view(self, day: date) -> ReferenceView:
        view = self._views.get(day)
        if view is None:
            if len(self._views) >= self.MAX_CACHED_DAYS:
                self._views.clear()
            view = self._views[day] = ReferenceView(self.data, day, self.provinces)
        return view

    def decide(self, payload: dict, on: date | None = None) -> Decision:
        return self.decide_facts(RequestFacts.from_payload(payload), on)

    def decide_facts(self, request: RequestFacts, on: date | None = None) -> Decision:
        day = on or rome_date(datetime.now(UTC))
        version = self.version or NO_REFERENCE_VERSION
        if not self.loaded:
            check = RuleCheck(
                "reference_data",
                NOT_RESOLVED,
                "no_reference",
                "Nessuna versione dei dati di riferimento è attiva",
            )
            return triage(request, (check,), version, day)
        view = self.view(day)
        chain = []
        for rule in RULES:
            verdict = rule(self, view, request)
            chain.append(verdict.check)
            if verdict.assignment is not None:
                assignment = with_region(view, verdict.assignment)
                return Decision(
                    assignment, verdict.check.rule, verdict.inputs or {}, version, tuple(chain), request, day
                )
        return triage(request, tuple(chain), version, day)


def with_region(view: ReferenceView, assignment: Assignment) -> Assignment:
    """The region of the structure the request goes to (None for triage)."""
    target = view.sedi.get(assignment.code) or view.cric.get(assignment.code)
    return assignment._replace(region=target.region) if target is not None else assignment


RULES: list[Callable[[RoutingTable, ReferenceView, RequestFacts], Verdict]] = [
    referente_regionale_cric,
    polo,
    operatore_generico_cap,
    cassetto_matricola,
]


# ---- decisions taken by people, and re-routing ------------------------------------------------


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
        subject = view.subjects.get(request.subject or "")
        queue = subject.cric_section if subject is not None else queue
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
        subject = table.view(on).subjects.get(request.subject or "")
        queue = subject.cric_section if subject is not None else kept["queue"]
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
