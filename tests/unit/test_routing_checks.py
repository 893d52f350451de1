"""The checks a reference dataset passes before it may become active, on plain data."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from services.routing.reference.checks import check_reference
from services.routing.reference.dataset import SAMPLE_DIR, read_reference
from services.routing.reference.istat import all_comuni, italian_provinces
from services.routing.reference.model import Company, Cric, Polo, SedeComune
from services.routing.reference.sample import generate_sample
from shared.config import REPO_ROOT

TODAY = date(2026, 11, 23)
# requests; outbound communications are not routed
ROUTED_CHANNELS = ("combipat", "cassetto", "linea_inps")


@pytest.fixture(scope="module")
def provinces():
    return italian_provinces()


@pytest.fixture(scope="module")
def sample(provinces):
    return generate_sample(provinces)


def problems_of(data, provinces):
    return check_reference(data, provinces, all_comuni(), TODAY)


def codes(problems):
    return sorted({problem.code for problem in problems})


def test_the_sample_passes_every_check_and_is_what_is_committed(sample, provinces):
    committed = read_reference(SAMPLE_DIR).data

    assert problems_of(sample, provinces) == []
    for table in sample.__dataclass_fields__:
        assert set(getattr(committed, table)) == set(getattr(sample, table)), table


def test_routing_knows_every_subject_of_the_intake_catalog_it_routes(sample):
    # routing keeps its own subject list (it does not import intake): they must not drift apart
    catalog = json.loads((REPO_ROOT / "services/intake/catalog/subjects.json").read_text(encoding="utf-8"))
    catalog_subjects = {
        subject["code"]: subject["area"]
        for version in catalog["versions"]
        if version["channel"] in ROUTED_CHANNELS
        for subject in version["subjects"]
    }

    assert {subject.code: subject.area for subject in sample.subjects} == catalog_subjects


def test_every_cap_must_reach_a_sede(sample, provinces):
    without_rome = dataclasses.replace(sample, sedi=tuple(s for s in sample.sedi if s.province != "RM"))

    problems = problems_of(without_rome, provinces)

    assert codes(problems) == ["cap_without_sede", "unknown_sede"]  # ... and the Roma companies had it
    assert "Provincia RM (Roma)" in next(p.detail for p in problems if p.code == "cap_without_sede")


def test_every_region_must_have_a_cric(sample, provinces):
    without_lazio = dataclasses.replace(sample, cric=tuple(c for c in sample.cric if c.region != "Lazio"))

    problems = problems_of(without_lazio, provinces)

    assert codes(problems) == ["region_without_cric"]
    assert "Lazio" in problems[0].detail


def test_every_subject_must_have_a_known_section(sample, provinces):
    subjects = list(sample.subjects)
    subjects[0] = dataclasses.replace(subjects[0], cric_section="")
    subjects[1] = dataclasses.replace(subjects[1], cric_section="varie")

    problems = problems_of(dataclasses.replace(sample, subjects=tuple(subjects)), provinces)

    assert codes(problems) == ["subject_without_section", "unknown_section"]


def test_every_sede_must_have_a_parent_and_a_region(sample, provinces):
    sedi = list(sample.sedi)
    sedi[1] = dataclasses.replace(sedi[1], parent_code=None)
    sedi[2] = dataclasses.replace(sedi[2], region="")

    assert {"missing_parent", "missing_region"} <= set(
        codes(problems_of(dataclasses.replace(sample, sedi=tuple(sedi)), provinces))
    )


def test_references_between_tables_must_hold(sample, provinces):
    broken = dataclasses.replace(
        sample,
        poli=(*sample.poli, Polo("oggetto_ignoto", "Atlantide", "9999", "Polo fantasma")),
        companies=(*sample.companies, Company("123", "9999")),
        sede_comuni=(SedeComune("0704", "Z999", "Nessuno"),),
        cric=(*sample.cric, Cric("0704", "CRIC doppio", "Lazio", "0704", None)),
    )

    assert codes(problems_of(broken, provinces)) == [
        "coverage_not_local",
        "duplicate_code",
        "invalid_matricola",
        "overlapping_rows",
        "unknown_comune",
        "unknown_parent",
        "unknown_region",
        "unknown_sede",
        "unknown_subject",
    ]


def test_two_rows_for_the_same_key_may_follow_each_other_but_not_overlap(sample, provinces):
    polo = next(p for p in sample.poli if p.subject == "prestazione_in_corso_o_respinta")
    handover = (
        dataclasses.replace(polo, valid_to=date(2026, 12, 31)),
        dataclasses.replace(polo, sede_code="0901", valid_from=date(2027, 1, 1)),
    )
    overlap = (polo, dataclasses.replace(polo, sede_code="0901", valid_from=date(2027, 1, 1)))
    others = tuple(p for p in sample.poli if p.subject != "prestazione_in_corso_o_respinta")

    assert problems_of(dataclasses.replace(sample, poli=others + handover), provinces) == []
    assert codes(problems_of(dataclasses.replace(sample, poli=others + overlap), provinces)) == [
        "overlapping_rows"
    ]


def test_coverage_is_checked_on_every_future_day_the_data_change(sample, provinces):
    # the Roma sede closes at the end of 2026 and nothing replaces it
    sedi = tuple(
        dataclasses.replace(s, valid_to=date(2026, 12, 31)) if s.province == "RM" else s for s in sample.sedi
    )

    problems = problems_of(dataclasses.replace(sample, sedi=sedi), provinces)

    assert "cap_without_sede" in codes(problems)
    assert all(problem.detail.endswith("(dal 2027-01-01)") for problem in problems)


def test_rows_that_ended_in_the_past_do_not_block_a_load(sample, provinces):
    old_polo = Polo("dm_uniemens", None, "0000", "Polo chiuso", valid_to=date(2020, 12, 31))
    closed = dataclasses.replace(sample, poli=(*sample.poli, old_polo))

    assert codes(problems_of(closed, provinces)) == ["unknown_sede"]  # a row must still name a real sede
    old_polo = dataclasses.replace(old_polo, sede_code="0704")
    assert problems_of(dataclasses.replace(sample, poli=(*sample.poli, old_polo)), provinces) == []
