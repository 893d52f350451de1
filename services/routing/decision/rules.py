"""The routing rules, each a plain function ``(view, request) -> Verdict``, and ``RULES``.

A rule says "matched" (with the target and the inputs it used), "not applicable" (the
request is not of its kind) or "not resolved" (it applies, but the data cannot place the
request, and why). ``RULES``, at the end, orders them; ``triage`` takes what none placed.
A rule reads only the ``ReferenceView`` of the day (the rows in force, the version's id,
the CAP look-up) and the request.
What depends only on the day's data and a key (a CAP, a subject) is worked out once per
view (``memoised``): after warm-up a decision is a handful of dict look-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import NamedTuple

from services.routing.decision.values import (
    DEFAULT_QUEUE,
    MATCHED,
    NOT_APPLICABLE,
    NOT_RESOLVED,
    TRIAGE_CODE,
    TRIAGE_NAME,
    Assignment,
    Decision,
    RequestFacts,
    RuleCheck,
    Verdict,
)
from services.routing.reference.model import CRIC_SECTIONS, Comune, Sede
from services.routing.reference.view import ReferenceView


def queue_of(view: ReferenceView | None, request: RequestFacts) -> str:
    """The work queue inside the structure: the subject's area."""
    if request.area:
        return request.area
    subject = view.subjects.get(request.subject) if view is not None and request.subject else None
    return subject.area if subject is not None else DEFAULT_QUEUE


def triage(
    request: RequestFacts,
    chain: tuple[RuleCheck, ...],
    version: str,
    day: date,
    view: ReferenceView | None = None,
) -> Decision:
    """The triage queue, with the reasons; of the request's region when its data say which
    (the CAP, the matricola, the patronato office): that region's triage officials own it."""
    unresolved = [check for check in chain if check.outcome == NOT_RESOLVED]
    if unresolved:
        why = "; ".join(check.detail for check in unresolved)
    else:
        why = (
            f"Nessuna regola di instradamento per il canale «{request.channel}» "
            f"e il profilo «{request.profile}»"
        )
    check = RuleCheck("triage", MATCHED, "triage", f"{why}: richiesta nella coda di smistamento.")
    region, region_from = triage_region(view, request) if view is not None else (None, "")
    inputs = {
        "why": [c.code for c in unresolved] or ["no_rule"],
        "channel": request.channel,
        "profile": request.profile,
        "region": region,
        "region_from": region_from if region else None,
    }
    assignment = Assignment(
        "triage", TRIAGE_CODE, TRIAGE_NAME, check.detail, request.area or DEFAULT_QUEUE, region
    )
    return Decision(assignment, "triage", inputs, version, (*chain, check), request, day)


# ---- where a request comes from ------------------------------------------------------------


class CitizenPlace(NamedTuple):
    comune: Comune
    sede: Sede | None
    coverage: str  # local | provincial
    comuni_per_cap: int
    same_sede_for_all: bool


MAX_MEMO = 50_000  # Italy has about 4,500 CAPs; the bound only stops junk input from growing it
_ABSENT = object()


def memoised(view: ReferenceView, key: tuple, compute: Callable):
    """What depends only on the day's data (``view``) and ``key`` is worked out once."""
    value = view.memo.get(key, _ABSENT)
    if value is _ABSENT:
        if len(view.memo) >= MAX_MEMO:
            view.memo.clear()
        value = view.memo[key] = compute()
    return value


def citizen_place(view: ReferenceView, cap: str) -> CitizenPlace | None:
    """CAP → comune → sede."""
    return memoised(view, ("place", cap), lambda: _resolve_cap(view, cap))


def _resolve_cap(view: ReferenceView, cap: str) -> CitizenPlace | None:
    """A CAP shared by several comuni resolves to the first comune by name; when all of
    them reach the same sede the choice does not matter and we say so."""
    comuni = view.cap_lookup(cap)
    if not comuni:
        return None
    comune = comuni[0]
    sede, coverage = view.sede_of_comune(comune)
    same = all(view.sede_of_comune(other)[0] == sede for other in comuni[1:]) if len(comuni) > 1 else True
    return CitizenPlace(comune, sede, coverage, len(comuni), same)


class CompanyPlace(NamedTuple):
    sede: Sede | None
    source: str  # registry | prefix
    province: str | None


def company_place(view: ReferenceView, matricola: str) -> CompanyPlace | None:
    """Matricola → sede di competenza from the company registry; if unknown there, the
    documented fallback: the 2-digit provincial prefix → its province → the provincial sede."""
    registered = view.companies.get(matricola)
    if registered is not None:
        sede = view.sedi.get(registered)
        return CompanyPlace(sede, "registry", sede.province if sede else None)
    prefix = view.prefixes.get(matricola[:2])
    if prefix is None:
        return None
    return CompanyPlace(view.provincial_sede.get(prefix.province), "prefix", prefix.province)


def request_region(view: ReferenceView, request: RequestFacts) -> tuple[str | None, str]:
    """The region a request belongs to (for regional poli), and from what it was taken."""
    if request.region:
        return request.region, "regione indicata dal Contact Center"
    if request.profile == "referente_regionale" and request.ente and request.ufficio:
        office = view.offices.get((request.ente, request.ufficio))
        if office is not None:
            return view.region_of_province(
                office.province
            ), f"ufficio di patronato {request.ente}/{request.ufficio}"
    if request.cap:
        place = citizen_place(view, request.cap)
        if place is not None:
            return place.comune.region, f"CAP {request.cap}"
    if request.matricola:
        place = company_place(view, request.matricola)
        if place is not None and place.sede is not None:
            return place.sede.region, f"matricola {request.matricola}"
        if place is not None:
            return view.region_of_province(place.province), f"matricola {request.matricola}"
    return None, "nessun dato territoriale"


def triage_region(view: ReferenceView, request: RequestFacts) -> tuple[str | None, str]:
    """The region whose triage a request goes to: the request's own (CAP, matricola,
    referente's office), else that of the patronato office that wrote it."""
    region, source = request_region(view, request)
    if region is None and request.ente and request.ufficio:
        office = view.offices.get((request.ente, request.ufficio))
        if office is not None:
            region = view.region_of_province(office.province)
            source = f"ufficio di patronato {request.ente}/{request.ufficio}"
    return region, source


# ---- rules: (view, request) -> Verdict ------------------------------------------------

_NOT_REFERENTE = Verdict(
    RuleCheck(
        "referente_regionale_cric", NOT_APPLICABLE, "not_referente", "Il profilo non è referente regionale"
    )
)
CASSETTO_CHANNEL = "cassetto"
LINEA_INPS_CHANNEL = "linea_inps"
_CASSETTO_NO_POLO = Verdict(
    RuleCheck(
        "polo",
        NOT_APPLICABLE,
        "cassetto_sede_di_competenza",
        "Richiesta del Cassetto: va alla sede di competenza della matricola, non a un polo",
    )
)
_NO_SUBJECT = Verdict(RuleCheck("polo", NOT_APPLICABLE, "no_subject", "Richiesta senza oggetto"))
_NOT_OPERATORE_GENERICO = Verdict(
    RuleCheck(
        "operatore_generico_cap",
        NOT_APPLICABLE,
        "not_operatore_generico",
        "Il profilo non è operatore generico",
    )
)
_MISSING_CAP = Verdict(
    RuleCheck(
        "operatore_generico_cap",
        NOT_RESOLVED,
        "missing_cap",
        "Richiesta di operatore generico senza CAP del cittadino",
    )
)
_NO_MATRICOLA = Verdict(
    RuleCheck(
        "cassetto_matricola", NOT_APPLICABLE, "no_matricola", "Richiesta non del cassetto e senza matricola"
    )
)


def referente_regionale_cric(view: ReferenceView, request: RequestFacts) -> Verdict:
    """1. Referente regionale → CRIC of the region of the patronato office, section by subject."""
    rule = "referente_regionale_cric"
    if request.profile != "referente_regionale":
        return _NOT_REFERENTE
    if not (request.ente and request.ufficio):
        return Verdict(
            RuleCheck(
                rule,
                NOT_RESOLVED,
                "missing_office",
                "Referente regionale senza codice ente e ufficio di patronato",
            )
        )
    office_label = f"ufficio di patronato {request.ente}/{request.ufficio}"
    office = view.offices.get((request.ente, request.ufficio))
    if office is None:
        detail = f"Referente regionale: {office_label} non presente nei dati di riferimento {view.version}"
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "unknown_office", detail))
    region = view.region_of_province(office.province)
    cric = view.cric_of_region.get(region or "")
    if cric is None:
        detail = (
            f"Referente regionale: nessun CRIC per la regione {region or office.province} dell'{office_label}"
        )
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "no_cric", detail))
    subject = view.subjects.get(request.subject or "")
    section, named = cric_section_of(view, request)
    if section is None:
        detail = f"Referente regionale: l'oggetto «{request.subject or '(assente)'}» non ha una sezione CRIC"
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "subject_without_section", detail))
    label = subject.label or subject.code if subject is not None else request.subject
    why = "indicata dal referente" if named else f"dell'oggetto «{label}»"
    reason = (
        f"Referente regionale dell'{office_label} (provincia {office.province}, {region}) → {cric.name}, "
        f"sezione {CRIC_SECTIONS[section]} ({why})"
    )
    assignment = Assignment(
        "cric", cric.code, f"{cric.name} – sezione {CRIC_SECTIONS[section]}", reason, section
    )
    inputs = {
        "profile": request.profile,
        "ente": request.ente,
        "ufficio": request.ufficio,
        "province": office.province,
        "region": region,
        "subject": request.subject,
        "cric_section": section,
        "cric_section_from": "request" if named else "subject",
    }
    return Verdict(RuleCheck(rule, MATCHED, "cric", reason), assignment, inputs)


def cric_section_of(view: ReferenceView, request: RequestFacts) -> tuple[str | None, bool]:
    """The CRIC section a request goes to, and whether the request named it: the one named
    (a referente regionale says which area the question concerns, circ. 135/2011), else
    the subject's default section; None when neither is one of the three."""
    if request.cric_section in CRIC_SECTIONS:
        return request.cric_section, True
    subject = view.subjects.get(request.subject or "")
    if subject is not None and subject.cric_section in CRIC_SECTIONS:
        return subject.cric_section, False
    return None, False


_NOT_SCHEDA = Verdict(
    RuleCheck(
        "linea_inps_cric", NOT_APPLICABLE, "not_scheda", "Non è una scheda Linea INPS del Contact Center"
    )
)


def linea_inps_cric(view: ReferenceView, request: RequestFacts) -> Verdict:
    """1b. A scheda Linea INPS of the contact center → the CRIC of the region it names, in
    the section of its area (circ. 135/2011: "indirizzarla alla specifica area di consulenza
    regionale"). Without a known region or a section it waits in that region's triage."""
    rule = "linea_inps_cric"
    if request.channel != LINEA_INPS_CHANNEL:
        return _NOT_SCHEDA
    cric = view.cric_of_region.get(request.region or "")
    if cric is None:
        detail = f"Scheda Linea INPS: nessun CRIC per la regione «{request.region or '(non indicata)'}»"
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "no_cric", detail))
    if request.cric_section not in CRIC_SECTIONS:
        detail = f"Scheda Linea INPS per il {cric.name} senza l'area di consulenza (sezione del CRIC)"
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "missing_section", detail))
    section = request.cric_section
    reason = f"Scheda Linea INPS del Contact Center → {cric.name}, sezione {CRIC_SECTIONS[section]}"
    assignment = Assignment(
        "cric", cric.code, f"{cric.name} – sezione {CRIC_SECTIONS[section]}", reason, section
    )
    inputs = {"channel": request.channel, "region": request.region, "cric_section": section}
    return Verdict(RuleCheck(rule, MATCHED, "cric", reason), assignment, inputs)


def polo(view: ReferenceView, request: RequestFacts) -> Verdict:
    """2. A subject handled by a polo (for the request's region, else national) → the polo.

    Poli are how LineaINPS places COMBIPAT requests ("tenendo anche conto dei vari Poli
    istituiti", msg 3813/2021). The Cassetto sends a company's request "alla sede di
    competenza" of its matricola (msg 1986/2011): no polo takes it (rule 4 does).
    """
    rule = "polo"
    if request.channel == CASSETTO_CHANNEL:
        return _CASSETTO_NO_POLO
    if not request.subject:
        return _NO_SUBJECT
    if request.subject not in view.polo_subjects:  # most subjects: no need to locate the request
        return memoised(
            view,
            ("no_polo", request.subject),
            lambda: Verdict(
                RuleCheck(rule, NOT_APPLICABLE, "no_polo", f"Nessun polo per l'oggetto «{request.subject}»")
            ),
        )
    region, region_source = request_region(view, request)
    hub = view.polo_for(request.subject, region)
    if hub is None:
        detail = (
            f"Nessun polo nazionale o per la regione {region or '(non determinata)'} "
            f"per l'oggetto «{request.subject}»"
        )
        return Verdict(RuleCheck(rule, NOT_APPLICABLE, "no_polo", detail))
    sede = view.sedi.get(hub.sede_code)
    if sede is None:
        detail = (
            f"Il polo «{hub.name}» indica la sede {hub.sede_code}, "
            f"non in vigore nei dati di riferimento {view.version}"
        )
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "polo_without_sede", detail))
    scope = f"per la regione {hub.region} ({region_source})" if hub.region else "nazionale"
    reason = f"Oggetto «{request.subject}» gestito dal polo {scope}: {hub.name} presso {sede.name}"
    assignment = Assignment("polo", sede.code, hub.name, reason, queue_of(view, request))
    inputs = {
        "subject": request.subject,
        "polo_region": hub.region,
        "request_region": region,
        "region_from": region_source,
    }
    return Verdict(RuleCheck(rule, MATCHED, "polo", reason), assignment, inputs)


def operatore_generico_cap(view: ReferenceView, request: RequestFacts) -> Verdict:
    """3. Operatore generico: CAP of residence → comune → the sede covering it."""
    if request.profile != "operatore_generico":
        return _NOT_OPERATORE_GENERICO
    if not request.cap:
        return _MISSING_CAP
    verdict = memoised(view, ("cap", request.cap), lambda: _cap_verdict(view, request.cap))
    if verdict.assignment is None:
        return verdict
    # the same CAP always leads to the same sede; only the work queue is the request's own
    return verdict._replace(assignment=verdict.assignment._replace(queue=queue_of(view, request)))


def _cap_verdict(view: ReferenceView, cap: str) -> Verdict:
    rule = "operatore_generico_cap"
    place = citizen_place(view, cap)
    if place is None:
        return Verdict(
            RuleCheck(rule, NOT_RESOLVED, "unknown_cap", f"Il CAP {cap} non corrisponde ad alcun comune")
        )
    comune = place.comune
    path = f"CAP {cap}"
    if place.comuni_per_cap > 1:
        if place.same_sede_for_all:
            path += f" (condiviso da {place.comuni_per_cap} comuni, tutti della stessa sede)"
        else:
            path += f" (condiviso da {place.comuni_per_cap} comuni, scelto il primo in ordine alfabetico)"
    path += f" → comune di {comune.name} ({comune.province})"
    if place.sede is None:
        detail = (
            f"{path} → nessuna sede per la provincia {comune.province} nei dati di riferimento {view.version}"
        )
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "no_sede", detail))
    inputs = {
        "profile": "operatore_generico",
        "cap": cap,
        "comune": comune.name,
        "codice_catastale": comune.codice_catastale,
        "province": comune.province,
        "region": comune.region,
        "comuni_per_cap": place.comuni_per_cap,
        "coverage": place.coverage,
    }
    reason = f"{path} → {place.sede.name}"
    assignment = Assignment("sede", place.sede.code, place.sede.name, reason, "")
    return Verdict(RuleCheck(rule, MATCHED, "sede", reason), assignment, inputs)


def cassetto_matricola(view: ReferenceView, request: RequestFacts) -> Verdict:
    """4. Cassetto (or any request about a matricola) → the matricola's sede di competenza."""
    rule = "cassetto_matricola"
    if request.channel != "cassetto" and not request.matricola:
        return _NO_MATRICOLA
    if not request.matricola:
        return Verdict(
            RuleCheck(rule, NOT_RESOLVED, "missing_matricola", "Richiesta del cassetto senza matricola")
        )
    matricola = request.matricola
    place = company_place(view, matricola)
    if place is None:
        detail = (
            f"Matricola {matricola} non presente nell'anagrafica aziende "
            f"e prefisso provinciale {matricola[:2]} sconosciuto"
        )
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "unknown_matricola", detail))
    if place.sede is None:
        if place.source == "registry":
            detail = (
                f"Matricola {matricola}: la sede di competenza {view.companies[matricola]} "
                "dell'anagrafica aziende non è in vigore"
            )
        else:
            detail = (
                f"Matricola {matricola}: prefisso provinciale {matricola[:2]} "
                f"→ provincia {place.province}, senza sede in vigore"
            )
        return Verdict(RuleCheck(rule, NOT_RESOLVED, "no_sede", detail))
    if place.source == "registry":
        reason = f"Matricola {matricola} → sede di competenza dall'anagrafica aziende: {place.sede.name}"
    else:
        reason = (
            f"Matricola {matricola} non presente nell'anagrafica aziende "
            f"→ prefisso provinciale {matricola[:2]} → provincia {place.province} → {place.sede.name}"
        )
    assignment = Assignment("sede", place.sede.code, place.sede.name, reason, queue_of(view, request))
    inputs = {
        "channel": request.channel,
        "matricola": matricola,
        "source": place.source,
        "province": place.province,
    }
    return Verdict(RuleCheck(rule, MATCHED, place.source, reason), assignment, inputs)


# Order is precedence: the first rule that matches decides; then triage.
RULES: list[Callable[[ReferenceView, RequestFacts], Verdict]] = [
    referente_regionale_cric,
    linea_inps_cric,
    polo,
    operatore_generico_cap,
    cassetto_matricola,
]
