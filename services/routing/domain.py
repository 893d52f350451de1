"""Routing rules, as plain code: which structure is competent for a request, and why.

A ``RoutingTable`` is an in-memory snapshot of one reference-data version (the sedi)
plus the ISTAT CAP → comuni data. ``RoutingTable.decide(payload)`` applies the rules in
``RULES`` in order; the first that matches decides. A request no rule can place goes to
the triage queue with the reason: a request is never dropped.

Every decision says which rule decided (a stable machine name), the inputs it used, the
target and an Italian reason a person can read. Look-ups are dict accesses, so a
decision costs microseconds once the CAP cache is warm.

No nameko, no SQLAlchemy here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from functools import lru_cache
from typing import Callable, Iterable

from shared.identifiers import comuni_for_cap

REGIONAL_TYPES = ("direzione_regionale",)
# The sede competent for a province: a direzione provinciale, or where the province is a
# metropolitan city, the direzione di coordinamento metropolitano.
PROVINCIAL_TYPES = ("direzione_provinciale", "direzione_coordinamento_metropolitano")
SEDE_TYPES = REGIONAL_TYPES + PROVINCIAL_TYPES + (
    "filiale_metropolitana",
    "agenzia_complessa",
    "agenzia_territoriale",
)

TRIAGE_CODE = "TRIAGE"
TRIAGE_NAME = "Coda di smistamento"
NO_REFERENCE_VERSION = "none"


@dataclass(frozen=True)
class Sede:
    code: str
    name: str
    type: str
    parent_code: str | None
    region: str
    province: str | None
    email: str | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Comune:
    name: str
    province: str  # sigla, e.g. "RM"
    region: str
    codice_catastale: str


@dataclass(frozen=True)
class Assignment:
    kind: str  # sede | cric | polo | triage (shared.events.ASSIGNMENT_KINDS)
    code: str
    name: str
    reason: str
    queue: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    assignment: Assignment
    rule: str
    inputs: dict
    reference_version: str

    def as_dict(self) -> dict:
        return {
            "assignment": self.assignment.as_dict(),
            "rule": self.rule,
            "inputs": dict(self.inputs),
            "reference_version": self.reference_version,
        }

    def routed_payload(self, request_id, decided_at: datetime) -> dict:
        """The payload of the ``request_routed`` event (RequestRoutedV1)."""
        return {
            "request_id": request_id,
            "assignment": self.assignment.as_dict(),
            "rule": self.rule,
            "reference_version": self.reference_version,
            "decided_at": decided_at,
        }


@dataclass(frozen=True)
class RequestFacts:
    """What the rules look at, read once from a ``request_submitted``-shaped payload."""

    channel: str
    profile: str
    area: str
    cap: str | None
    matricola: str | None
    patronato: dict | None

    @classmethod
    def from_payload(cls, payload: dict) -> "RequestFacts":
        citizen = payload.get("citizen") if isinstance(payload.get("citizen"), dict) else {}
        cap = str(citizen.get("cap") or "").strip() or None
        return cls(
            channel=payload.get("channel") or "",
            profile=payload.get("profile") or "",
            area=payload.get("area") or "",
            cap=cap,
            matricola=payload.get("matricola"),
            patronato=payload.get("patronato"),
        )


@lru_cache(maxsize=8192)  # Italy has about 4,500 CAPs; the bound only stops junk input from growing it
def comuni_of_cap(cap: str) -> tuple[Comune, ...]:
    """The comuni served by ``cap``, sorted by name (cached: the ISTAT data does not change
    while the process runs)."""
    return tuple(
        Comune(c["nome"], c["sigla_provincia"], c["regione"], c["codice_catastale"])
        for c in comuni_for_cap(cap)
    )


class RoutingTable:
    """One reference version, indexed for routing. ``RoutingTable.empty()`` when none is loaded."""

    def __init__(
        self,
        version: str | None,
        sedi: Iterable[Sede],
        cap_lookup: Callable[[str], tuple[Comune, ...]] = comuni_of_cap,
    ):
        self.version = version
        self.sedi = {sede.code: sede for sede in sedi}
        self.provincial_sede = {
            sede.province: sede for sede in self.sedi.values() if sede.type in PROVINCIAL_TYPES and sede.province
        }
        self.cap_lookup = cap_lookup

    @classmethod
    def empty(cls) -> "RoutingTable":
        return cls(None, [])

    @property
    def loaded(self) -> bool:
        return self.version is not None

    def decide(self, payload: dict) -> Decision:
        request = RequestFacts.from_payload(payload)
        for rule in RULES:
            decision = rule(self, request)
            if decision is not None:
                return decision
        return self.triage(
            "triage_no_rule",
            request,
            f"Nessuna regola di instradamento per il canale «{request.channel}» e il profilo «{request.profile}»",
            {"channel": request.channel, "profile": request.profile},
        )

    # -- building decisions ------------------------------------------------------------

    def to_sede(self, rule: str, request: RequestFacts, sede: Sede, reason: str, inputs: dict) -> Decision:
        return Decision(
            Assignment("sede", sede.code, sede.name, reason, request.area),
            rule,
            inputs,
            self.version or NO_REFERENCE_VERSION,
        )

    def triage(self, rule: str, request: RequestFacts, why: str, inputs: dict) -> Decision:
        return Decision(
            Assignment("triage", TRIAGE_CODE, TRIAGE_NAME, f"{why}: richiesta nella coda di smistamento.", request.area),
            rule,
            inputs,
            self.version or NO_REFERENCE_VERSION,
        )


# ---- rules: (table, request) -> Decision, or None when the rule does not apply ---------


def no_reference_loaded(table: RoutingTable, request: RequestFacts) -> Decision | None:
    if table.loaded:
        return None
    return table.triage("triage_no_reference", request, "Nessuna versione dei dati di riferimento delle sedi è attiva", {})


def operatore_generico_by_cap(table: RoutingTable, request: RequestFacts) -> Decision | None:
    """Patronato operatore generico: CAP of residence → comune → provincia → its sede."""
    if request.profile != "operatore_generico":
        return None
    inputs = {"profile": request.profile, "cap": request.cap}
    if not request.cap:
        return table.triage("triage_missing_cap", request, "Richiesta di operatore generico senza CAP del cittadino", inputs)
    comuni = table.cap_lookup(request.cap)
    if not comuni:
        return table.triage("triage_unknown_cap", request, f"Il CAP {request.cap} non corrisponde ad alcun comune", inputs)
    # A CAP shared by several comuni: the first by name, said openly in the reason.
    comune = comuni[0]
    inputs.update(
        comune=comune.name, codice_catastale=comune.codice_catastale, province=comune.province, comuni_per_cap=len(comuni)
    )
    path = f"CAP {request.cap}"
    if len(comuni) > 1:
        path += f" (condiviso da {len(comuni)} comuni, scelto il primo in ordine alfabetico)"
    path += f" → comune di {comune.name} ({comune.province})"
    sede = table.provincial_sede.get(comune.province)
    if sede is None:
        why = f"{path} → nessuna sede provinciale per la provincia {comune.province} nei dati di riferimento {table.version}"
        return table.triage("triage_no_sede", request, why, inputs)
    return table.to_sede("operatore_generico_cap", request, sede, f"{path} → {sede.name}", inputs)


def referente_regionale(table: RoutingTable, request: RequestFacts) -> Decision | None:
    """Referente regionale → the region's CRIC, found from the patronato office: those data
    are not loaded yet."""
    if request.profile != "referente_regionale":
        return None
    return table.triage(
        "triage_referente_no_offices",
        request,
        "Referente regionale: dati degli uffici di patronato non ancora caricati, impossibile individuare il CRIC della regione",
        {"profile": request.profile, "patronato": request.patronato},
    )


def cassetto_by_matricola(table: RoutingTable, request: RequestFacts) -> Decision | None:
    """Cassetto → the sede of the matricola: neither the company registry nor the
    provincial-prefix fallback table is loaded yet."""
    if request.channel != "cassetto":
        return None
    return table.triage(
        "triage_cassetto_no_registry",
        request,
        f"Cassetto previdenziale: anagrafica delle aziende non ancora caricata, sede di competenza della matricola "
        f"{request.matricola or '(assente)'} non determinabile (il ripiego sul prefisso provinciale non è ancora disponibile)",
        {"channel": request.channel, "matricola": request.matricola},
    )


# Order matters: the first rule that returns a decision wins. A polo rule (subject → hub)
# goes before the CAP rule when poli are loaded.
RULES: list[Callable[[RoutingTable, RequestFacts], Decision | None]] = [
    no_reference_loaded,
    cassetto_by_matricola,
    referente_regionale,
    operatore_generico_by_cap,
]
