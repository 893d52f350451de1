"""The Cruscotto's rules at their edges (HERMES msg 2614/2018): day n, day n + 1, the Rome
calendar, a change of subject moving the threshold, empty sets; the cell a request counts in;
the months a report waits for; who sees which level."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.reporting.rules.cells import (
    PLACEMENT_SEDE,
    PLACEMENT_TRIAGE,
    PLACEMENT_UNROUTED,
    change_contributions,
    request_contribution,
)
from services.reporting.rules.indicators import (
    Counts,
    RequestTiming,
    counts_of,
    figures,
    is_past_threshold,
    sla_figures,
)
from services.reporting.rules.periods import (
    PeriodParts,
    last_settled_day,
    month_bounds,
    months_ready,
    parse_month,
    report_ready_on,
    split_period,
)
from shared import access
from shared.access import Caller, DashboardView
from shared.errors import Forbidden

# 09:00 in Rome on a Monday; "day k" is k calendar days later, same hour
SUBMITTED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def on_day(k: int, hour_utc: int = 8) -> datetime:
    return (SUBMITTED + timedelta(days=k)).replace(hour=hour_utc)


def closed_on(k: int, sla_days: int = 10) -> RequestTiming:
    return RequestTiming("f24", sla_days, "closed", SUBMITTED, on_day(k))


def open_since(sla_days: int = 10, state: str = "open") -> RequestTiming:
    return RequestTiming("f24", sla_days, state, SUBMITTED)


# ---- threshold indicator ------------------------------------------------------------------------


@pytest.mark.parametrize("sla_days", [5, 10, 15, 25])
def test_closed_exactly_on_day_n_is_within_and_on_day_n_plus_1_is_late(sla_days):
    in_time = figures(counts_of(closed_on(sla_days, sla_days), on_day(40)))
    late = figures(counts_of(closed_on(sla_days + 1, sla_days), on_day(40)))

    assert (in_time["closed_within_sla"], in_time["threshold_indicator"]) == (1, 1.0)
    assert (late["closed_late"], late["threshold_indicator"]) == (1, 0.0)


@pytest.mark.parametrize("sla_days", [5, 10, 15, 25])
def test_open_exactly_n_days_is_not_yet_past_the_threshold(sla_days):
    at_n = sla_figures([open_since(sla_days)], on_day(sla_days))
    at_n_plus_1 = sla_figures([open_since(sla_days)], on_day(sla_days + 1))

    # on day n: not past, so neither in the threshold indicator's denominator nor late
    assert (at_n["open_past_sla"], at_n["threshold_indicator"], at_n["backlog_index"]) == (0, None, 1.0)
    # on day n + 1: late, counted against the indicator, out of the backlog index's numerator
    assert (at_n_plus_1["open_past_sla"], at_n_plus_1["threshold_indicator"]) == (1, 0.0)
    assert at_n_plus_1["backlog_index"] == 0.0


def test_days_are_rome_calendar_days_and_the_day_of_submission_is_day_0():
    # submitted at 23:30 in Rome (21:30 UTC in March), closed 31 minutes later: day 1 in Rome
    late_evening = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    closed = RequestTiming("f24", 5, "closed", late_evening, late_evening + timedelta(minutes=31))
    assert counts_of(closed, late_evening).closing_days == 1
    # the same 31 minutes earlier in the day: still day 0
    morning = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    same_day = RequestTiming("f24", 5, "closed", morning, morning + timedelta(minutes=31))
    assert counts_of(same_day, morning).closing_days == 0
    # the change to summer time (29 March 2026) does not change a day count
    assert not is_past_threshold(date(2026, 3, 24), 5, datetime(2026, 3, 29, 21, 59, tzinfo=UTC))
    assert is_past_threshold(date(2026, 3, 24), 5, datetime(2026, 3, 29, 22, 0, tzinfo=UTC))


def test_no_closed_and_no_open_requests_give_no_figure():
    nothing = figures(Counts())

    assert nothing["threshold_indicator"] is None
    assert nothing["backlog_index"] is None
    assert nothing["average_closing_days"] is None
    assert (nothing["submitted"], nothing["open"], nothing["closed"]) == (0, 0, 0)


def test_only_open_requests_within_the_threshold_give_a_backlog_index_of_one_and_no_indicator():
    fresh = sla_figures([open_since(10), open_since(10, "in_progress")], on_day(3))

    assert (fresh["threshold_indicator"], fresh["backlog_index"]) == (None, 1.0)


def test_a_change_of_subject_moves_the_threshold_the_request_is_measured_against():
    before = fact(sla_days=5, state="closed", closed_at=on_day(12))
    after = fact(sla_days=25, state="closed", closed_at=on_day(12))

    (_, late), (cell, in_time) = request_contribution(before), request_contribution(after)

    assert (late.closed_late, late.closed_within_threshold) == (1, 0)
    assert (in_time.closed_late, in_time.closed_within_threshold) == (0, 1)
    assert (cell.subject, cell.sla_days) == ("f24", 25)


def test_counts_from_the_aggregates_give_the_same_figures_as_the_rows():
    rng = random.Random(11)
    now = on_day(30)
    rows = []
    for _ in range(300):
        sla_days = rng.choice([5, 10, 15, 25])
        submitted = SUBMITTED + timedelta(days=rng.randrange(30), hours=rng.randrange(24))
        if rng.random() < 0.6:
            closed = submitted + timedelta(days=rng.randrange(40), hours=rng.randrange(24))
            rows.append(RequestTiming("f24", sla_days, "closed", submitted, min(closed, now)))
        else:
            rows.append(RequestTiming("f24", sla_days, rng.choice(["open", "in_progress"]), submitted))

    total = Counts()
    for row in rows:
        total += counts_of(row, now)

    assert figures(total) == sla_figures(rows, now)
    assert figures(total)["submitted"] == 300


# ---- the cell a request counts in --------------------------------------------------------------


def fact(**facts):
    values = dict(
        submitted_at=SUBMITTED,
        subject="f24",
        sla_days=10,
        origin="cassetto",
        state="open",
        closed_at=None,
        assignment_kind="sede",
        sede_code="0704",
        region="Lazio",
    )
    values.update(facts)
    return SimpleNamespace(**values)


def test_a_request_counts_where_routing_placed_it_triage_and_unrouted_apart():
    in_sede, _ = request_contribution(fact())
    in_triage, _ = request_contribution(fact(assignment_kind="triage", sede_code="TRIAGE", region=None))
    unrouted, _ = request_contribution(fact(assignment_kind=None, sede_code=None, region=None))

    assert (in_sede.placement, in_sede.sede, in_sede.region, in_sede.day) == (
        PLACEMENT_SEDE,
        "0704",
        "Lazio",
        date(2026, 3, 2),
    )
    assert (in_triage.placement, in_triage.sede, in_triage.region) == (PLACEMENT_TRIAGE, "", "")
    assert (unrouted.placement, unrouted.sede) == (PLACEMENT_UNROUTED, "")


def test_a_request_without_its_submission_counts_nowhere_yet():
    assert request_contribution(fact(submitted_at=None, subject=None, sla_days=None, origin=None)) is None


def test_changes_of_subject_count_on_their_day_where_the_request_is():
    changes = [
        SimpleNamespace(changed_at=on_day(2, hour_utc=23), from_subject="f24", to_subject="dm_uniemens")
    ]

    (cell,) = change_contributions(fact(), changes)
    (nowhere,) = change_contributions(None, changes)

    assert (cell.day, cell.sede, cell.from_subject, cell.to_subject) == (
        date(2026, 3, 5),  # 23:00 UTC is already the next day in Rome
        "0704",
        "f24",
        "dm_uniemens",
    )
    assert nowhere.placement == PLACEMENT_UNROUTED


# ---- months ------------------------------------------------------------------------------------


def test_a_month_is_reported_once_its_longest_threshold_has_elapsed():
    # February 2026 ends on the 28th; its last requests reach day 25 on 25 March
    assert report_ready_on(2026, 2) == date(2026, 3, 26)
    assert months_ready(date(2026, 3, 25), (2026, 1)) == [(2026, 1)]
    assert months_ready(date(2026, 3, 26), (2026, 1)) == [(2026, 1), (2026, 2)]
    assert months_ready(date(2027, 1, 26), (2026, 12)) == [(2026, 12)]


@pytest.mark.parametrize(
    "today, settled",
    [
        (date(2026, 4, 26), date(2026, 3, 31)),  # March's report is ready from 26 April
        (date(2026, 4, 25), date(2026, 2, 28)),  # a request of 31 March may still be within 25 days
        (date(2026, 3, 1), date(2026, 1, 31)),
        (date(2027, 1, 26), date(2026, 12, 31)),
    ],
)
def test_a_month_is_settled_when_its_report_is_ready(today, settled):
    assert last_settled_day(today) == settled
    assert report_ready_on(settled.year, settled.month) <= today
    after = settled + timedelta(days=1)
    assert report_ready_on(after.year, after.month) > today


def test_every_day_of_a_year_settles_the_month_whose_report_is_ready():
    day = date(2026, 1, 1)
    while day.year == 2026:
        settled = last_settled_day(day)
        assert settled == month_bounds(settled.year, settled.month)[1]
        assert report_ready_on(settled.year, settled.month) <= day
        after = settled + timedelta(days=1)
        assert report_ready_on(after.year, after.month) > day
        day += timedelta(days=1)


DEC_1 = date(2026, 12, 1)  # October is the last settled month


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@pytest.mark.parametrize(
    "first, last, parts",
    [
        # the year so far: January to October settled, November whole but not settled, today
        (d(1, 1), DEC_1, PeriodParts((d(1, 1), d(10, 31)), (d(11, 1), d(11, 30)), ((DEC_1, DEC_1),))),
        # the whole year: December is a whole month of the period too
        (d(1, 1), d(12, 31), PeriodParts((d(1, 1), d(10, 31)), (d(11, 1), d(12, 31)), ())),
        # begun and ended inside months: their days at both edges
        (
            d(2, 10),
            d(6, 5),
            PeriodParts((d(3, 1), d(5, 31)), None, ((d(2, 10), d(2, 28)), (d(6, 1), d(6, 5)))),
        ),
        # one whole settled month; one whole month not yet settled
        (d(3, 1), d(3, 31), PeriodParts((d(3, 1), d(3, 31)), None, ())),
        (d(11, 1), d(11, 30), PeriodParts(None, (d(11, 1), d(11, 30)), ())),
        # inside one month: days only
        (d(3, 5), d(3, 20), PeriodParts(None, None, ((d(3, 5), d(3, 20)),))),
        (d(11, 5), d(12, 1), PeriodParts(None, None, ((d(11, 5), DEC_1),))),
        # the backlog: since always
        (None, None, PeriodParts((None, d(10, 31)), None, ((d(11, 1), None),))),
    ],
)
def test_a_period_reads_whole_months_from_the_rollup_and_its_edges_from_the_days(first, last, parts):
    assert split_period(first, last, DEC_1) == parts


def test_the_backlog_reads_months_not_yet_settled_day_by_day():
    assert split_period(d(1, 1), d(12, 31), DEC_1, unsettled_months=False) == PeriodParts(
        (d(1, 1), d(10, 31)), None, ((d(11, 1), d(12, 31)),)
    )


@pytest.mark.parametrize("unsettled_months", [True, False])
def test_the_parts_of_a_period_cover_each_of_its_days_once(unsettled_months):
    for first_offset in range(0, 400, 7):
        for length in (0, 1, 27, 31, 58, 95, 200):
            first = date(2026, 1, 1) + timedelta(days=first_offset)
            last = first + timedelta(days=length)
            parts = split_period(first, last, DEC_1, unsettled_months)
            ranges = [*parts.days, *(part for part in (parts.settled, parts.unsettled) if part)]
            covered = []
            for start, end in ranges:
                covered += [start + timedelta(days=k) for k in range((end - start).days + 1)]
            assert sorted(covered) == [first + timedelta(days=k) for k in range(length + 1)]
            for months in (parts.settled, parts.unsettled):
                if months:  # whole months: from a first day to a last day
                    assert months[0].day == 1 and (months[1] + timedelta(days=1)).day == 1
            if parts.settled:
                assert parts.settled[1] <= last_settled_day(DEC_1)
            if parts.unsettled:
                assert unsettled_months and parts.unsettled[0] > last_settled_day(DEC_1)


@pytest.mark.parametrize("text", ["2026-3", "2026-13", "26-03", "2026/03", ""])
def test_a_month_is_written_aaaa_mm(text):
    with pytest.raises(ValueError):
        parse_month(text)
    assert parse_month("2026-03") == (2026, 3)


# ---- who sees which level ----------------------------------------------------------------------

NATIONAL = DashboardView("national")
LAZIO = DashboardView("region", "Lazio")
ROMA = DashboardView("sede", "0704", "Lazio")
NAPOLI = DashboardView("sede", "0401", "Campania")
TRIAGE = DashboardView("triage")


@pytest.mark.parametrize(
    "claims, visible",
    [
        (dict(role="direttore", scope="national"), {NATIONAL, LAZIO, ROMA, NAPOLI, TRIAGE}),
        (dict(role="admin"), {NATIONAL, LAZIO, ROMA, NAPOLI, TRIAGE}),
        (dict(role="direttore", regione="Lazio"), {LAZIO, ROMA}),
        (dict(role="direttore", sede="0704"), {ROMA}),
        (dict(role="sede_operatore", sede="0704", groups=["APP_FEA_COMBID"]), {ROMA}),
    ],
    ids=["national", "admin", "regional", "sede director", "official"],
)
def test_each_caller_sees_its_level_and_the_levels_below(claims, visible):
    caller = Caller.from_claims({"sub": "x", **claims})

    seen = {
        view
        for view in (NATIONAL, LAZIO, ROMA, NAPOLI, TRIAGE)
        if access.can_see_dashboard_view(caller, view)
    }

    assert seen == visible


@pytest.mark.parametrize(
    "claims, code",
    [
        (dict(role="direttore"), "missing_scope"),
        (dict(role="sede_operatore", sede="0704"), "missing_group"),
        (dict(role="sede_operatore", groups=["APP_FEA_COMBID"]), "missing_sede_scope"),
        (dict(role="patronato_operatore", patronato="001", ufficio="01"), "role_not_allowed"),
        (dict(role="azienda", matricole=["7012345678"]), "role_not_allowed"),
    ],
)
def test_a_caller_without_the_scope_its_role_needs_is_refused(claims, code):
    caller = Caller.from_claims({"sub": "x", **claims})

    with pytest.raises(Forbidden) as refused:
        access.dashboard_scope(caller)

    assert refused.value.code == code
