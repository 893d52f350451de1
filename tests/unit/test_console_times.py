"""The console shows dates and times as people in Italy read them, whatever the API's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.ui.render import ENVIRONMENT, local_time


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-11-30T23:30:00Z", "01/12/2026 00:30"),  # winter: UTC+1, the next day in Rome
        ("2026-07-15T22:15:00+00:00", "16/07/2026 00:15"),  # summer: UTC+2
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "29/03/2026 03:00"),  # the spring change
        ("2026-12-01", "01/12/2026 00:00"),  # a plain date stays as it is
        ("non una data", "non una data"),
        ("", ""),
        (None, ""),
    ],
)
def test_an_instant_is_shown_on_the_clock_in_italy(value, shown):
    assert local_time(value) == shown


def test_the_date_filter_gives_the_day_in_italy_and_a_plain_date_unchanged():
    template = ENVIRONMENT.from_string("{{ instant|data }} {{ day|data }} {{ instant|data_ora }}")
    assert template.render(instant="2026-11-30T23:30:00Z", day=date(2026, 11, 30)) == (
        "01/12/2026 30/11/2026 01/12/2026 00:30"
    )


def test_the_weekday_is_in_italian():
    assert local_time("2026-12-01T08:00:00Z", "%A %d/%m/%Y") == "martedì 01/12/2026"
