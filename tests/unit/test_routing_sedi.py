"""The sedi reference data: the generated sample, the committed CSV, the checks on the sedi."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import date

import pytest

from services.routing.reference import dataset
from services.routing.reference.checks import check_reference
from services.routing.reference.istat import all_comuni, italian_provinces
from services.routing.reference.model import ReferenceData
from services.routing.reference.sample import generate_sample, generate_sample_sedi

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def provinces():
    return italian_provinces()


@pytest.fixture(scope="module")
def sample(provinces):
    return generate_sample_sedi(provinces)


@pytest.fixture(scope="module")
def check_sedi(provinces):
    """The load's checks on a dataset of these sedi with the sample's CRIC and subjects (the
    other tables are optional and left empty, so whatever is found is about the sedi)."""
    sample_data = generate_sample(provinces)

    def check(sedi, provinces):
        data = ReferenceData(sedi=tuple(sedi), cric=sample_data.cric, subjects=sample_data.subjects)
        return check_reference(data, provinces, all_comuni(), TODAY)

    return check


def problem_codes(problems):
    return {problem.code for problem in problems}


def test_sample_has_one_regional_per_region_and_one_provincial_per_province(provinces, sample, check_sedi):
    counts = Counter(sede.type for sede in sample)

    assert len(provinces) == 107
    assert counts == {"direzione_provinciale": 107, "direzione_regionale": 20}
    codes = [sede.code for sede in sample]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"\d{4}", code) for code in codes)
    assert check_sedi(sample, provinces) == []


def test_sample_names_and_emails(sample):
    rome = next(sede for sede in sample if sede.province == "RM")
    lazio = next(sede for sede in sample if sede.code == rome.parent_code)

    assert rome.name == "Direzione provinciale di Roma"
    assert rome.email == "direzione.provinciale.roma@sample.inps.example"
    assert lazio.name == "Direzione regionale Lazio"
    assert lazio.type == "direzione_regionale"


def test_committed_sample_csv_is_the_generated_sample(sample):
    loaded = dataset.read_reference(dataset.SAMPLE_DIR)

    assert loaded.problems == []
    assert sorted(loaded.sedi, key=lambda s: s.code) == sorted(sample, key=lambda s: s.code)
    assert loaded.is_sample
    assert "NON dati INPS reali" in loaded.source


def test_csv_round_trip(tmp_path, sample):
    sedi_file = dataset.FILE_BY_ATTRIBUTE["sedi"]
    dataset.write_table(tmp_path / sedi_file.name, sedi_file, sample, "import di prova")

    loaded = dataset.read_reference(tmp_path)

    assert sorted(loaded.sedi, key=lambda s: s.code) == sorted(sample, key=lambda s: s.code)
    assert loaded.source == "import di prova"
    assert not loaded.is_sample
    assert len(loaded.checksum) == 64


def test_province_without_sede_is_reported(provinces, sample, check_sedi):
    without_rome = [sede for sede in sample if sede.province != "RM"]

    problems = check_sedi(without_rome, provinces)

    assert [problem.code for problem in problems] == ["cap_without_sede"]
    assert "RM" in problems[0].detail


def test_sede_without_existing_parent_is_reported(provinces, sample, check_sedi):
    orphan = dataclasses.replace(sample[1], parent_code="9999")
    no_parent = dataclasses.replace(sample[2], parent_code=None)

    problems = check_sedi([sample[0], orphan, no_parent, *sample[3:]], provinces)

    assert problem_codes(problems) == {"unknown_parent", "missing_parent"}
    assert any("9999" in problem.detail for problem in problems)


def test_bad_codes_types_and_regions_are_reported(provinces, sample, check_sedi):
    broken = list(sample)
    broken[1] = dataclasses.replace(sample[1], code="12A")
    broken[2] = dataclasses.replace(sample[2], code=sample[3].code)
    broken[4] = dataclasses.replace(sample[4], type="ufficio")
    broken[5] = dataclasses.replace(sample[5], region="")

    problems = check_sedi(broken, provinces)

    assert {"invalid_code", "duplicate_code", "invalid_type", "missing_region"} <= problem_codes(problems)


def test_two_provincial_sedi_for_one_province_are_reported(provinces, sample, check_sedi):
    rome = next(sede for sede in sample if sede.province == "RM")
    metropolitan = dataclasses.replace(rome, code="0799", type="direzione_coordinamento_metropolitano")

    problems = check_sedi([*sample, metropolitan], provinces)

    assert problem_codes(problems) == {"province_with_several_sedi"}


def test_missing_file_and_missing_columns_are_reported(tmp_path):
    missing = dataset.read_reference(tmp_path).problems
    assert problem_codes(missing) == {"missing_file"}
    assert [
        name
        for name in ("sedi.csv", "cric.csv", "subjects.csv", "poli.csv")
        if any(name in p.detail for p in missing)
    ] == [
        "sedi.csv",
        "cric.csv",
        "subjects.csv",  # the optional files may be absent
    ]

    (tmp_path / "sedi.csv").write_text("code,name\n0100,Direzione\n", encoding="utf-8")

    assert "missing_columns" in problem_codes(dataset.read_reference(tmp_path).problems)


def test_dates_must_be_days_and_periods_must_not_run_backwards(tmp_path):
    (tmp_path / "sedi.csv").write_text(
        "code,name,type,parent_code,region,province,email,valid_from,valid_to\n"
        "0100,Direzione,direzione_regionale,,Lazio,,,2026-13-01,\n"
        "0101,Direzione,direzione_provinciale,0100,Lazio,RM,,2026-05-01,2026-04-30\n",
        encoding="utf-8",
    )

    problems = dataset.read_reference(tmp_path).problems

    assert {"invalid_date", "invalid_period"} <= problem_codes(problems)
    assert any("riga 2" in problem.detail for problem in problems)
