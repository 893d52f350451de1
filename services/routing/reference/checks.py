"""The checks a reference dataset must pass before it may become the active version.

Two kinds:

- row checks, whatever the day: codes and shapes, references between tables (a sede's
  parent exists, a polo's sede exists, a subject has a CRIC section...), no two rows for
  the same key in force at once;
- coverage checks, on every day from ``today`` on which some row starts or stops being
  in force: every CAP reaches a sede, every sede in force has its parent in force, every
  region has a CRIC, no province has two provincial sedi, every polo and company points
  to a sede in force.

``check_reference`` returns the problems found ([] when the dataset may become active);
reading the CSV files reports its own problems (missing file, bad date) the same way.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from services.routing.reference.model import (
    CRIC_SECTIONS,
    LOCAL_TYPES,
    PROVINCIAL_TYPES,
    REGIONAL_TYPES,
    SEDE_TYPES,
    Comune,
    Province,
    ReferenceData,
    Sede,
)
from services.routing.reference.view import ReferenceView
from shared.identifiers import MATRICOLA_PATTERN

CODE_PATTERN = re.compile(r"^\d{4}$")  # sedi and CRIC
PREFIX_PATTERN = re.compile(r"^\d{2}$")
MAX_EXAMPLES = 3

Comuni = dict[str, tuple[Comune, tuple[str, ...]]]  # codice catastale -> (comune, its CAPs)


@dataclass(frozen=True)
class Problem:
    """Why a dataset cannot become active: a stable ``code`` and an Italian ``detail``."""

    code: str
    detail: str


def check_reference(
    data: ReferenceData, provinces: dict[str, Province], comuni: Comuni, today: date
) -> list[Problem]:
    return check_rows(data, provinces, comuni) + check_coverage(data, provinces, comuni, today)


# ---- rows -----------------------------------------------------------------------------------


def check_rows(data: ReferenceData, provinces: dict[str, Province], comuni: Comuni) -> list[Problem]:
    regions = {province.region for province in provinces.values()}
    sede_codes = {sede.code: sede for sede in data.sedi}
    subjects = {subject.code for subject in data.subjects}
    return [
        *_check_sedi(data.sedi, provinces),
        *_check_sede_comuni(data, sede_codes, comuni),
        *_check_cric(data, sede_codes, regions),
        *_check_subjects(data),
        *_check_poli(data, sede_codes, subjects, regions),
        *_check_offices(data, provinces),
        *_check_companies(data, sede_codes),
        *_check_prefixes(data, provinces),
    ]


def _check_sedi(sedi: tuple[Sede, ...], provinces: dict[str, Province]) -> list[Problem]:
    """What each sede must satisfy whatever the day: code, name, type, region, parent."""
    if not sedi:
        return [Problem("empty_dataset", "Il file delle sedi non contiene alcuna sede.")]
    problems = [
        Problem("invalid_code", f"{_sede_label(sede)}: il codice deve essere di 4 cifre.")
        for sede in sedi
        if not CODE_PATTERN.match(sede.code)
    ]
    for code, count in sorted(Counter(sede.code for sede in sedi).items()):
        if count > 1:
            problems.append(Problem("duplicate_code", f"Il codice sede {code} compare {count} volte."))
    by_code = {sede.code: sede for sede in sedi}
    for sede in sedi:
        problems += _check_sede(sede, by_code, provinces)
    return problems


def _sede_label(sede: Sede) -> str:
    return f"sede {sede.code or '(senza codice)'} «{sede.name}»"


def _check_sede(sede: Sede, by_code: dict[str, Sede], provinces: dict[str, Province]) -> list[Problem]:
    label = _sede_label(sede)
    problems = []
    if not sede.name:
        problems.append(Problem("missing_name", f"{label}: nome mancante."))
    if sede.type not in SEDE_TYPES:
        problems.append(
            Problem(
                "invalid_type", f"{label}: tipo «{sede.type}» non valido (ammessi: {', '.join(SEDE_TYPES)})."
            )
        )
    if not sede.region:
        problems.append(Problem("missing_region", f"{label}: regione mancante."))
    elif sede.region not in {province.region for province in provinces.values()}:
        problems.append(
            Problem("unknown_region", f"{label}: regione «{sede.region}» sconosciuta (usare il nome ISTAT).")
        )
    elif sede.province in provinces and provinces[sede.province].region != sede.region:
        detail = f"{label}: la provincia {sede.province} non è nella regione {sede.region}."
        problems.append(Problem("province_outside_region", detail))
    if sede.type not in REGIONAL_TYPES:
        if not sede.parent_code:
            problems.append(
                Problem("missing_parent", f"{label}: manca la sede di livello superiore (parent_code).")
            )
        elif sede.parent_code == sede.code or sede.parent_code not in by_code:
            problems.append(
                Problem(
                    "unknown_parent", f"{label}: la sede di livello superiore {sede.parent_code} non esiste."
                )
            )
    if sede.province and sede.province not in provinces:
        problems.append(Problem("unknown_province", f"{label}: provincia «{sede.province}» sconosciuta."))
    if sede.type in PROVINCIAL_TYPES and not sede.province:
        problems.append(
            Problem("missing_province", f"{label}: una sede provinciale deve indicare la provincia.")
        )
    return problems


def _check_sede_comuni(data, sedi, comuni) -> list[Problem]:
    problems = []
    for row in data.sede_comuni:
        label = f"sede_comuni.csv: comune {row.codice_catastale} della sede {row.sede_code}"
        sede = sedi.get(row.sede_code)
        known = comuni.get(row.codice_catastale)
        if sede is None:
            problems.append(Problem("unknown_sede", f"{label}: la sede non esiste."))
        elif sede.type not in LOCAL_TYPES:
            detail = f"{label}: solo agenzie e filiali coprono comuni elencati (la sede è {sede.type})."
            problems.append(Problem("coverage_not_local", detail))
        if known is None:
            problems.append(
                Problem("unknown_comune", f"{label}: codice catastale sconosciuto nei dati ISTAT.")
            )
        elif sede is not None and sede.province and known[0].province != sede.province:
            detail = f"{label}: il comune è in provincia {known[0].province}, la sede in {sede.province}."
            problems.append(Problem("coverage_outside_province", detail))
    problems += _overlapping(
        data.sede_comuni, lambda r: r.codice_catastale, "sede_comuni.csv: comune {} coperto da due sedi"
    )
    return problems


def _check_cric(data, sedi, regions) -> list[Problem]:
    problems = []
    for cric in data.cric:
        label = f"cric.csv: CRIC {cric.code or '(senza codice)'} «{cric.name}»"
        if not CODE_PATTERN.match(cric.code):
            problems.append(Problem("invalid_code", f"{label}: il codice deve essere di 4 cifre."))
        elif cric.code in sedi:
            problems.append(Problem("duplicate_code", f"{label}: il codice è già di una sede."))
        if not cric.name:
            problems.append(Problem("missing_name", f"{label}: nome mancante."))
        if cric.region not in regions:
            problems.append(Problem("unknown_region", f"{label}: regione «{cric.region}» sconosciuta."))
        parent = sedi.get(cric.parent_code)
        if parent is None or parent.type not in REGIONAL_TYPES or parent.region != cric.region:
            detail = f"{label}: parent_code deve essere la direzione regionale della stessa regione."
            problems.append(Problem("unknown_parent", detail))
    problems += _duplicates(data.cric, lambda c: c.code, "cric.csv: il codice CRIC {} compare più volte")
    problems += _overlapping(
        data.cric, lambda c: c.region, "cric.csv: la regione {} ha due CRIC in vigore insieme"
    )
    return problems


def _check_subjects(data) -> list[Problem]:
    problems = []
    for subject in data.subjects:
        label = f"subjects.csv: oggetto «{subject.code or '(senza codice)'}»"
        if not subject.code:
            problems.append(Problem("missing_code", f"{label}: codice mancante."))
        if not subject.area:
            problems.append(Problem("missing_area", f"{label}: area (coda di lavoro) mancante."))
        if not subject.cric_section:
            problems.append(Problem("subject_without_section", f"{label}: manca la sezione CRIC."))
        elif subject.cric_section not in CRIC_SECTIONS:
            detail = (
                f"{label}: sezione CRIC «{subject.cric_section}» sconosciuta "
                f"(ammesse: {', '.join(CRIC_SECTIONS)})."
            )
            problems.append(Problem("unknown_section", detail))
    problems += _overlapping(
        data.subjects, lambda s: s.code, "subjects.csv: l'oggetto {} compare due volte nello stesso periodo"
    )
    return problems


def _check_poli(data, sedi, subjects, regions) -> list[Problem]:
    problems = []
    for hub in data.poli:
        label = f"poli.csv: polo «{hub.name}» per l'oggetto «{hub.subject}»"
        if hub.subject not in subjects:
            problems.append(Problem("unknown_subject", f"{label}: oggetto non presente in subjects.csv."))
        if hub.region is not None and hub.region not in regions:
            problems.append(Problem("unknown_region", f"{label}: regione «{hub.region}» sconosciuta."))
        if hub.sede_code not in sedi:
            problems.append(Problem("unknown_sede", f"{label}: la sede {hub.sede_code} non esiste."))
        if not hub.name:
            problems.append(Problem("missing_name", f"{label}: nome mancante."))
    label = "poli.csv: oggetto e regione {} con due poli in vigore insieme"
    problems += _overlapping(data.poli, lambda p: (p.subject, p.region or "nazionale"), label)
    return problems


def _check_offices(data, provinces) -> list[Problem]:
    problems = [
        Problem(
            "invalid_office",
            f"patronato_offices.csv: ufficio «{office.ente}/{office.ufficio}»: "
            "codice ente o ufficio mancante.",
        )
        for office in data.patronato_offices
        if not (office.ente and office.ufficio)
    ]
    problems += [
        Problem(
            "unknown_province",
            f"patronato_offices.csv: ufficio {office.ente}/{office.ufficio}: "
            f"provincia «{office.province}» sconosciuta.",
        )
        for office in data.patronato_offices
        if office.province not in provinces
    ]
    label = "patronato_offices.csv: l'ufficio {} compare due volte nello stesso periodo"
    problems += _overlapping(data.patronato_offices, lambda o: f"{o.ente}/{o.ufficio}", label)
    return problems


def _check_companies(data, sedi) -> list[Problem]:
    bad_matricole = [c.matricola for c in data.companies if not MATRICOLA_PATTERN.match(c.matricola)]
    unknown_sede = [c.matricola for c in data.companies if c.sede_code not in sedi]
    problems = []
    if bad_matricole:
        detail = (
            f"companies.csv: {len(bad_matricole)} matricole non di 10 cifre (es. {_examples(bad_matricole)})."
        )
        problems.append(Problem("invalid_matricola", detail))
    if unknown_sede:
        detail = (
            f"companies.csv: {len(unknown_sede)} matricole con una sede che non esiste "
            f"(es. {_examples(unknown_sede)})."
        )
        problems.append(Problem("unknown_sede", detail))
    problems += _overlapping(
        data.companies,
        lambda c: c.matricola,
        "companies.csv: la matricola {} compare due volte nello stesso periodo",
    )
    return problems


def _check_prefixes(data, provinces) -> list[Problem]:
    problems = []
    for row in data.matricola_prefixes:
        if not PREFIX_PATTERN.match(row.prefix):
            problems.append(
                Problem("invalid_prefix", f"matricola_prefixes.csv: prefisso «{row.prefix}» non di 2 cifre.")
            )
        if row.province not in provinces:
            detail = f"matricola_prefixes.csv: prefisso {row.prefix}: provincia «{row.province}» sconosciuta."
            problems.append(Problem("unknown_province", detail))
    label = "matricola_prefixes.csv: il prefisso {} compare due volte nello stesso periodo"
    problems += _overlapping(data.matricola_prefixes, lambda p: p.prefix, label)
    return problems


def _duplicates(rows: Iterable, key: Callable, template: str) -> list[Problem]:
    counts = Counter(key(row) for row in rows)
    return [
        Problem("duplicate_code", template.format(value) + ".")
        for value, count in sorted(counts.items())
        if count > 1
    ]


def _overlapping(rows: Iterable, key: Callable, template: str) -> list[Problem]:
    """Rows with the same key whose effective periods overlap (one problem per key)."""
    by_key = defaultdict(list)
    for row in rows:
        by_key[key(row)].append(row)
    problems = []
    for value, group in sorted(by_key.items(), key=lambda item: str(item[0])):
        group.sort(key=lambda row: row.valid_from or date.min)
        # sorted by start: if any two overlap, some neighbours do
        if any(
            a.valid_to is None or (b.valid_from or date.min) <= a.valid_to
            for a, b in zip(group, group[1:], strict=False)
        ):
            shown = "/".join(value) if isinstance(value, tuple) else value
            problems.append(Problem("overlapping_rows", template.format(shown) + "."))
    return problems


def _examples(values: list[str]) -> str:
    shown = ", ".join(values[:MAX_EXAMPLES])
    return shown + ("…" if len(values) > MAX_EXAMPLES else "")


# ---- coverage, day by day -----------------------------------------------------------------------


def check_days(data: ReferenceData, today: date) -> list[date]:
    """Today and every later day on which the set of rows in force changes."""
    return sorted({today} | {day for day in data.change_days() if day > today})


def check_coverage(
    data: ReferenceData, provinces: dict[str, Province], comuni: Comuni, today: date
) -> list[Problem]:
    problems, seen = [], set()
    known_sedi = {sede.code for sede in data.sedi}  # a sede that does not exist at all is a row problem
    for day in check_days(data, today):
        view = ReferenceView(data, day, provinces)
        since = "" if day == today else f" (dal {day.isoformat()})"
        for problem in _coverage_on(view, known_sedi, provinces, comuni):
            if (problem.code, problem.detail) not in seen:  # a fault that lasts is reported once
                seen.add((problem.code, problem.detail))
                problems.append(Problem(problem.code, problem.detail + since))
    return problems


def _coverage_on(view: ReferenceView, known_sedi: set[str], provinces, comuni: Comuni) -> list[Problem]:
    return [
        *_caps_without_sede(view, provinces, comuni),
        *_provinces_with_several_sedi(view, provinces),
        *_parents_not_in_force(view, known_sedi),
        *_regions_without_cric(view, provinces, known_sedi),
        *_poli_without_sede(view, known_sedi),
        *_companies_without_sede(view, known_sedi),
    ]


def _caps_without_sede(view: ReferenceView, provinces, comuni: Comuni) -> list[Problem]:
    unreached = defaultdict(set)
    for comune, caps in comuni.values():
        if caps and view.sede_of_comune(comune)[0] is None:
            unreached[comune.province].update(caps)
    problems = []
    for sigla, caps in sorted(unreached.items()):
        name = provinces[sigla].name if sigla in provinces else sigla
        detail = (
            f"Provincia {sigla} ({name}): {len(caps)} CAP non raggiungono alcuna sede "
            f"(es. {_examples(sorted(caps))}): "
            "manca una direzione provinciale o di coordinamento metropolitano in vigore."
        )
        problems.append(Problem("cap_without_sede", detail))
    return problems


def _provinces_with_several_sedi(view: ReferenceView, provinces) -> list[Problem]:
    provincial = Counter(s.province for s in view.sedi.values() if s.type in PROVINCIAL_TYPES and s.province)
    return [
        Problem("province_with_several_sedi", f"La provincia {sigla} ha {count} sedi provinciali in vigore.")
        for sigla, count in sorted(provincial.items())
        if count > 1
    ]


def _parents_not_in_force(view: ReferenceView, known_sedi: set[str]) -> list[Problem]:
    return [
        Problem(
            "parent_not_in_force",
            f"La sede {sede.code} «{sede.name}» è in vigore ma la sua sede superiore {sede.parent_code} no.",
        )
        for sede in sorted(view.sedi.values(), key=lambda s: s.code)
        if sede.type not in REGIONAL_TYPES
        and sede.parent_code in known_sedi
        and sede.parent_code not in view.sedi
    ]


def _regions_without_cric(view: ReferenceView, provinces, known_sedi: set[str]) -> list[Problem]:
    regions = sorted({province.region for province in provinces.values()})
    problems = [
        Problem("region_without_cric", f"La regione {region} non ha un CRIC in vigore.")
        for region in regions
        if region not in view.cric_of_region
    ]
    problems += [
        Problem(
            "parent_not_in_force",
            f"Il CRIC {cric.code} è in vigore ma la sua direzione regionale {cric.parent_code} no.",
        )
        for cric in view.cric.values()
        if cric.parent_code in known_sedi and cric.parent_code not in view.sedi
    ]
    return problems


def _poli_without_sede(view: ReferenceView, known_sedi: set[str]) -> list[Problem]:
    return [
        Problem(
            "polo_sede_not_in_force", f"Il polo «{hub.name}» è in vigore ma la sua sede {hub.sede_code} no."
        )
        for hub in view.poli.values()
        if hub.sede_code in known_sedi and hub.sede_code not in view.sedi
    ]


def _companies_without_sede(view: ReferenceView, known_sedi: set[str]) -> list[Problem]:
    orphans = sorted(m for m, code in view.companies.items() if code in known_sedi and code not in view.sedi)
    if not orphans:
        return []
    detail = (
        f"{len(orphans)} matricole dell'anagrafica aziende hanno una sede non in vigore "
        f"(es. {_examples(orphans)})."
    )
    return [Problem("company_sede_not_in_force", detail)]
