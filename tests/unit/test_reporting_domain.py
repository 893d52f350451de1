"""The dashboard's figures (DESIGN.md §2, Dashboard) as plain functions over plain rows."""

from datetime import UTC, datetime, timedelta

import pytest

from services.reporting.rules import RequestTiming, sla_figures, sla_snapshot

SUBMITTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = SUBMITTED + timedelta(days=30)


def closed(after_days, sla_days=10, subject="f24"):
    return RequestTiming(subject, sla_days, "closed", SUBMITTED, SUBMITTED + timedelta(days=after_days))


def still_open(days_ago, sla_days=10, subject="f24", state="open"):
    return RequestTiming(subject, sla_days, state, NOW - timedelta(days=days_ago))


def test_threshold_indicator_counts_closed_in_time_over_closed_and_late_open():
    rows = [
        closed(3),
        closed(10),
        closed(11),
        still_open(11),
        still_open(10),
        still_open(2, state="in_progress"),
    ]

    figures = sla_figures(rows, NOW)

    # closed within 10 days: 2 (day 10 is still within); late open: 1 (day 11)
    assert figures["closed"] == 3 and figures["closed_within_sla"] == 2
    assert figures["open"] == 3 and figures["open_past_sla"] == 1
    assert figures["threshold_indicator"] == pytest.approx(2 / 4)


def test_backlog_index_is_open_not_yet_late_over_all_open():
    rows = [still_open(11), still_open(10), still_open(0, state="in_progress"), closed(20)]

    assert sla_figures(rows, NOW)["backlog_index"] == pytest.approx(2 / 3)


def test_average_closing_days_over_closed_requests_only():
    rows = [closed(2), closed(5), closed(11), still_open(40)]

    assert sla_figures(rows, NOW)["average_closing_days"] == pytest.approx(6.0)


def test_empty_denominators_give_no_figure_rather_than_zero():
    nothing = sla_figures([], NOW)
    assert nothing["threshold_indicator"] is None
    assert nothing["backlog_index"] is None
    assert nothing["average_closing_days"] is None
    assert (nothing["open"], nothing["closed"]) == (0, 0)

    # only open requests, none late yet: no threshold figure, every open request in time
    fresh = sla_figures([still_open(1), still_open(3)], NOW)
    assert fresh["threshold_indicator"] is None
    assert fresh["backlog_index"] == 1.0

    # only closed requests: no backlog figure
    assert sla_figures([closed(1)], NOW)["backlog_index"] is None


def test_only_late_open_requests_give_an_indicator_of_zero():
    figures = sla_figures([still_open(30), still_open(12)], NOW)

    assert figures["threshold_indicator"] == 0.0
    assert figures["backlog_index"] == 0.0


def test_days_are_counted_on_the_rome_calendar():
    # 23:30 UTC on 1 March is 00:30 on 2 March in Rome: day 5 ends 7 March, 23:59 Rome
    submitted = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    in_time = RequestTiming("durc", 5, "closed", submitted, datetime(2026, 3, 7, 22, 59, tzinfo=UTC))
    late = RequestTiming("durc", 5, "closed", submitted, datetime(2026, 3, 7, 23, 0, tzinfo=UTC))

    assert sla_figures([in_time], NOW)["closed_within_sla"] == 1
    assert sla_figures([late], NOW)["closed_within_sla"] == 0


def test_snapshot_groups_by_subject_and_threshold_and_totals_each_against_its_own():
    rows = [
        closed(4, sla_days=5, subject="durc"),
        closed(6, sla_days=5, subject="durc"),
        closed(20, sla_days=25, subject="f24"),
        still_open(20, sla_days=25, subject="f24"),
    ]

    snapshot = sla_snapshot(iter(rows), NOW)

    durc, f24 = snapshot["subjects"]
    assert (durc["subject"], durc["sla_days"], durc["threshold_indicator"]) == ("durc", 5, 0.5)
    assert (f24["subject"], f24["sla_days"], f24["threshold_indicator"]) == ("f24", 25, 1.0)
    assert f24["backlog_index"] == 1.0
    # 20 days is late for durc's 5 but in time for f24's 25
    assert snapshot["total"]["closed_within_sla"] == 2
    assert snapshot["total"]["threshold_indicator"] == pytest.approx(2 / 3)
    assert snapshot["total"]["open"] == 1


def test_snapshot_of_nothing_has_no_subjects():
    assert sla_snapshot([], NOW) == {"subjects": [], "total": sla_figures([], NOW)}
