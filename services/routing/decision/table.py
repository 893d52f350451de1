"""``RoutingTable``: one reference-data version in memory, deciding where requests go.

For the day of the decision it builds (once) a ``ReferenceView`` of the rows in force that
day, then ``decide`` walks ``rules.RULES`` in order of precedence:

1. ``referente_regionale_cric``  referente regionale → the CRIC of the region of the
   patronato office, in the section of the subject;
1b. ``linea_inps_cric``          a contact-center scheda Linea INPS → the CRIC of the
   region it names, in the section of its area (circ. 135/2011);
2. ``polo``                      a COMBIPAT request whose subject has a polo (for the
   request's region, else national) → the polo (never a Cassetto request: it goes to
   the sede di competenza of its matricola, msg 1986/2011);
3. ``operatore_generico_cap``    operatore generico → the sede covering the citizen's
   comune (CAP);
4. ``cassetto_matricola``        cassetto → the sede di competenza of the matricola
   (company registry, else the documented fallback on its 2-digit provincial prefix);
5. ``triage``                    otherwise → the triage queue, with the reasons, of the
   request's region when its data say which (owned by that region's triage officials).

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

from services.routing.decision.rules import RULES, triage
from services.routing.decision.values import (
    NO_REFERENCE_VERSION,
    NOT_RESOLVED,
    Assignment,
    Decision,
    RequestFacts,
    RuleCheck,
)
from services.routing.reference.istat import comuni_of_cap, italian_provinces
from services.routing.reference.model import Comune, ReferenceData
from services.routing.reference.view import ReferenceView
from shared.clock import rome_date


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
            view = self._views[day] = ReferenceView(
                self.data, day, self.provinces, self.version, self.cap_lookup
            )
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
            verdict = rule(view, request)
            chain.append(verdict.check)
            if verdict.assignment is not None:
                assignment = with_region(view, verdict.assignment)
                return Decision(
                    assignment, verdict.check.rule, verdict.inputs or {}, version, tuple(chain), request, day
                )
        return triage(request, tuple(chain), version, day, view)


def with_region(view: ReferenceView, assignment: Assignment) -> Assignment:
    """The region of the structure the request goes to (None for triage)."""
    target = view.sedi.get(assignment.code) or view.cric.get(assignment.code)
    return assignment._replace(region=target.region) if target is not None else assignment
