"""The dashboard's aggregates on the real PostgreSQL: kept from events in any order, with
duplicates, they equal a brute-force computation over the read model (the daily counts, their
monthly rollup, the changes of subject); the rebuild command gives the same; the dashboard's
figures equal the per-row rules over the same requests, whether a period is read from the
days or from the months.

Each test uses subjects and a region of its own (``unique``), so its cells are told apart from
those of other tests sharing the database (triage and unrouted cells have no sede or region).
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from services.reporting import aggregates, dashboard, projections
from services.reporting.models import DailyRequestCount, MonthlyRequestCount, RequestFact, SubjectChangeCount
from services.reporting.rules.indicators import Counts, counts_of, figures, sla_figures
from services.reporting.service import allowed_view
from shared.access import Caller, DashboardView
from shared.clock import rome_date
from shared.db import DatabaseAccess
from shared.errors import Forbidden
from shared.events import make_event, parse_event

START = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
TODAY = date(2026, 4, 20)

HANDLERS = {
    "request_submitted": projections.record_submitted,
    "request_routed": projections.record_routed,
    "request_taken_in_charge": projections.record_taken_in_charge,
    "request_answered": projections.record_answered,
    "request_subject_changed": projections.record_subject_changed,
    "request_closed": projections.record_closed,
}


@pytest.fixture(scope="module")
def sessions(database_sessions):
    return database_sessions("reporting")


def event(event_type, payload, producer="intake"):
    return parse_event(make_event(event_type, payload, producer=producer).to_message())


def apply(sessions, ev) -> bool:
    """What the service's entrypoint does: the projection, the aggregates following it, in the
    inbox's unit of work."""
    access = DatabaseAccess(sessions, f"reporting.on_{ev.type}")
    return access.apply_once(ev, aggregates.tracked(HANDLERS[ev.type]))


class Story:
    """The events of one request, as intake and routing publish them, drawn at random."""

    def __init__(self, rng: random.Random, subjects: list[str], sedi: list[tuple[str, str]]):
        self.id = uuid.uuid4()
        self.protocol = f"COMBID.2026.{secrets.randbelow(10**8):08d}"
        self.submitted_at = START + timedelta(days=rng.randrange(45), minutes=rng.randrange(24 * 60))
        subject, sla_days = rng.choice(subjects), rng.choice([5, 10, 15, 25])
        self.events = [self._submitted(subject, sla_days, rng.choice(["cassetto", "patronato", "fax"]))]
        decided = self.submitted_at + timedelta(seconds=5)
        place = rng.random()
        if place < 0.85:
            self.events.append(self._routed(decided, *rng.choice(sedi)))
            if rng.random() < 0.2:  # re-routed later to another sede, or first to triage
                self.events.append(self._routed(decided + timedelta(days=1), *rng.choice(sedi)))
            if rng.random() < 0.1:
                self.events.append(self._routed(decided - timedelta(seconds=1), "TRIAGE", None, "triage"))
        elif place < 0.95:
            self.events.append(self._routed(decided, "TRIAGE", None, "triage"))
        # else: never routed
        if rng.random() < 0.25:
            changed_to = rng.choice([name for name in subjects if name != subject])
            self.events.append(
                self._changed(rng.randrange(0, 6), subject, changed_to, rng.choice([5, 10, 15, 25]))
            )
        if rng.random() < 0.5:
            self.events.append(self._step("request_taken_in_charge", rng.randrange(0, 4), sede=None))
        if rng.random() < 0.65:
            day = rng.randrange(0, 35)
            answer_id = uuid.uuid4()
            self.events.append(
                self._step("request_answered", day, message_id=answer_id, answer_number=1, first_answer=True)
            )
            self.events.append(
                self._step("request_closed", day, outcome="definita", booking_enabled=False, comment=None)
            )

    def _submitted(self, subject, sla_days, origin):
        return event(
            "request_submitted",
            {
                "request_id": self.id,
                "protocol": self.protocol,
                "origin": origin,
                "channel": origin,
                "profile": "intermediario",
                "subject": subject,
                "catalog_version": "test",
                "area": "contributi",
                "sla_days": sla_days,
                "contacts": {"email": None, "sms": None},
                "requester": "cdl-1",
                "submitted_at": self.submitted_at,
            },
        )

    def _routed(self, decided_at, code, region, kind="sede"):
        assignment = {
            "kind": kind,
            "code": code,
            "name": f"Struttura {code}",
            "reason": "test",
            "queue": "contributi",
            "region": region,
        }
        payload = {
            "request_id": self.id,
            "assignment": assignment,
            "rule": "test",
            "reference_version": "test",
            "decided_at": decided_at,
        }
        return event("request_routed", payload, producer="routing")

    def _step(self, event_type, days, **fields):
        payload = {
            "request_id": self.id,
            "protocol": self.protocol,
            "actor": "op-1",
            "actor_role": "sede_operatore",
            "at": self.submitted_at + timedelta(days=days, hours=2),
            "comment": None,
            **fields,
        }
        return event(event_type, payload)

    def _changed(self, days, old, new, sla_days):
        return self._step(
            "request_subject_changed",
            days,
            old_subject=old,
            new_subject=new,
            catalog_version="test",
            area="contributi",
            sla_days=sla_days,
        )


def world(unique: str, requests: int, seed: int):
    rng = random.Random(seed)
    region = f"Regione {unique}"
    sedi = [(f"{unique}{index}"[:20], region) for index in range(3)]
    subjects = [f"s{unique}-{index}" for index in range(3)]
    return rng, region, sedi, subjects, [Story(rng, subjects, sedi) for _ in range(requests)]


def delivered_in_any_order_with_duplicates(rng, stories) -> list:
    events = [ev for story in stories for ev in story.events]
    events += rng.sample(events, len(events) // 4)  # a quarter delivered twice
    rng.shuffle(events)
    return events


# ---- brute force over the read model -----------------------------------------------------------


def facts_of(sessions, stories):
    with sessions() as session:
        return (
            session.execute(
                select(RequestFact).where(RequestFact.request_id.in_([story.id for story in stories]))
            )
            .scalars()
            .all()
        )


def brute_force_cells(facts) -> dict:
    """(day, placement, sede, region, subject, sla, origin) -> (open, within, late, days),
    written out here without the rules' cell function."""
    cells = defaultdict(lambda: [0, 0, 0, 0])
    for fact in facts:
        if fact.submitted_at is None:
            continue
        if fact.assignment_kind is None:
            place = ("unrouted", "", "")
        elif fact.assignment_kind == "triage":
            place = ("triage", "", "")
        else:
            place = ("sede", fact.sede_code, fact.region or "")
        key = (rome_date(fact.submitted_at), *place, fact.subject, fact.sla_days, fact.origin)
        cell = cells[key]
        if fact.state == "closed":
            days = (rome_date(fact.closed_at) - rome_date(fact.submitted_at)).days
            cell[1 if days <= fact.sla_days else 2] += 1
            cell[3] += days
        else:
            cell[0] += 1
    return {key: tuple(value) for key, value in cells.items()}


def kept_cells(sessions, subjects) -> dict:
    table = DailyRequestCount.__table__
    with sessions() as session:
        rows = session.execute(select(table).where(table.c.subject.in_(subjects))).all()
    return {
        (row.day, row.placement, row.sede, row.region, row.subject, row.sla_days, row.origin): (
            row.open_requests,
            row.closed_within,
            row.closed_late,
            row.closing_days,
        )
        for row in rows
    }


def brute_force_months(cells: dict) -> dict:
    """The brute-force daily cells summed by month (the first day of the month in the key)."""
    months = defaultdict(lambda: [0, 0, 0, 0])
    for (day, *rest), values in cells.items():
        month = months[(day.replace(day=1), *rest)]
        for index, value in enumerate(values):
            month[index] += value
    return {key: tuple(value) for key, value in months.items()}


def kept_months(sessions, subjects) -> dict:
    table = MonthlyRequestCount.__table__
    with sessions() as session:
        rows = session.execute(select(table).where(table.c.subject.in_(subjects))).all()
    return {
        (row.month, row.placement, row.sede, row.region, row.subject, row.sla_days, row.origin): (
            row.open_requests,
            row.closed_within,
            row.closed_late,
            row.closing_days,
        )
        for row in rows
    }


def brute_force_changes(sessions, stories, facts) -> dict:
    by_id = {fact.request_id: fact for fact in facts}
    changes = defaultdict(int)
    for story in stories:
        fact = by_id.get(story.id)
        for ev in story.events:
            if ev.type != "request_subject_changed":
                continue
            if fact is None or fact.assignment_kind is None:
                place = ("unrouted", "", "")
            elif fact.assignment_kind == "triage":
                place = ("triage", "", "")
            else:
                place = ("sede", fact.sede_code, fact.region or "")
            payload = ev.payload
            changes[(rome_date(payload["at"]), *place, payload["old_subject"], payload["new_subject"])] += 1
    return dict(changes)


def kept_changes(sessions, subjects) -> dict:
    table = SubjectChangeCount.__table__
    with sessions() as session:
        rows = session.execute(select(table).where(table.c.from_subject.in_(subjects))).all()
    return {
        (row.day, row.placement, row.sede, row.region, row.from_subject, row.to_subject): row.changes
        for row in rows
    }


# ---- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aggregates_equal_a_brute_force_count_for_any_order_and_duplicates(sessions, unique, seed):
    rng, _, _, subjects, stories = world(unique, requests=60, seed=seed)
    events = delivered_in_any_order_with_duplicates(rng, stories)

    applied = [apply(sessions, ev) for ev in events]

    assert applied.count(True) == sum(len(story.events) for story in stories)  # duplicates refused
    facts = facts_of(sessions, stories)
    expected = brute_force_cells(facts)
    assert kept_cells(sessions, subjects) == expected
    assert sum(sum(value[:3]) for value in expected.values()) == len(stories)  # every request, once
    assert kept_months(sessions, subjects) == brute_force_months(expected)
    assert len({key[0] for key in brute_force_months(expected)}) >= 2  # March and April at least
    assert kept_changes(sessions, subjects) == brute_force_changes(sessions, stories, facts)


def test_the_rebuild_gives_the_same_aggregates_as_the_events(sessions, unique):
    rng, _, _, subjects, stories = world(unique, requests=40, seed=4)
    for ev in delivered_in_any_order_with_duplicates(rng, stories):
        apply(sessions, ev)
    kept, changes = kept_cells(sessions, subjects), kept_changes(sessions, subjects)
    months = kept_months(sessions, subjects)

    with sessions.begin() as session:
        counted = aggregates.rebuild(session)

    assert kept_cells(sessions, subjects) == kept
    assert kept_months(sessions, subjects) == months == brute_force_months(kept)
    assert kept_changes(sessions, subjects) == changes
    assert counted["daily_request_counts"] >= len(kept)
    assert counted["monthly_request_counts"] >= len(months)


def test_a_request_moving_between_cells_leaves_no_empty_row_behind(sessions, unique):
    rng, region, sedi, subjects, _ = world(unique, requests=0, seed=5)
    story = Story(random.Random(0), subjects, sedi)
    story.events = [
        story._submitted(subjects[0], 5, "cassetto"),
        story._routed(story.submitted_at, sedi[0][0], region),
        story._changed(1, subjects[0], subjects[1], 25),
        story._routed(story.submitted_at + timedelta(days=2), sedi[1][0], region),
    ]
    for ev in story.events:
        apply(sessions, ev)

    cells = kept_cells(sessions, subjects)

    ((key, value),) = cells.items()
    assert key[2:6] == (sedi[1][0], region, subjects[1], 25)
    assert value == (1, 0, 0, 0)
    assert list(kept_changes(sessions, subjects)) == [
        (
            rome_date(story.submitted_at + timedelta(days=1, hours=2)),
            "sede",
            sedi[1][0],
            region,
            *subjects[:2],
        )
    ]


def test_dashboard_figures_equal_the_per_request_rules(sessions, unique):
    rng, region, sedi, subjects, stories = world(unique, requests=80, seed=6)
    for ev in delivered_in_any_order_with_duplicates(rng, stories):
        apply(sessions, ev)
    facts = facts_of(sessions, stories)
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 10, tzinfo=UTC)
    first, last = date(2026, 3, 1), date(2026, 3, 31)

    def in_region(fact, sede=None):
        return (
            fact.submitted_at is not None
            and fact.assignment_kind not in (None, "triage")
            and fact.region == region
            and (sede is None or fact.sede_code == sede)
            and first <= rome_date(fact.submitted_at) <= last
        )

    with sessions() as session:
        query = {"from_day": first, "to_day": last}
        regional = dashboard.indicators(session, DashboardView("region", region), query, TODAY)
        one_sede = dashboard.indicators(session, DashboardView("sede", sedi[0][0], region), query, TODAY)
        closed_late = dashboard.requests(
            session,
            DashboardView("sede", sedi[0][0], region),
            {**query, "bucket": "closed_late", "page": 1, "page_size": 200},
            TODAY,
        )
        backlog = dashboard.backlog(session, DashboardView("region", region), {}, TODAY)

    assert regional["totals"] == sla_figures([f for f in facts if in_region(f)], now)
    assert one_sede["totals"] == sla_figures([f for f in facts if in_region(f, sedi[0][0])], now)
    children = {child["code"]: child for child in regional["children"]}
    for code, _ in sedi:
        expected = sla_figures([f for f in facts if in_region(f, code)], now)
        assert {k: v for k, v in children.get(code, {}).items() if k in expected} == (
            expected if expected["submitted"] else {}
        )
    for row in regional["subjects"]:
        rows = [
            f for f in facts if in_region(f) and (f.subject, f.sla_days) == (row["subject"], row["sla_days"])
        ]
        assert {k: row[k] for k in sla_figures(rows, now)} == sla_figures(rows, now)
    # the list behind a cell holds the requests the cell counts
    late = [f for f in facts if in_region(f, sedi[0][0]) and counts_of(f, now).closed_late]
    assert closed_late["total"] == len(late) == len(closed_late["items"])
    assert {item["request_id"] for item in closed_late["items"]} == {str(f.request_id) for f in late}
    assert all(not item["within_sla"] for item in closed_late["items"])
    # the backlog: every open request of the region, whenever submitted
    still_open = [
        f
        for f in facts
        if f.submitted_at
        and f.assignment_kind not in (None, "triage")
        and f.region == region
        and f.state != "closed"
    ]
    open_counts = Counts()
    for f in still_open:
        open_counts += counts_of(f, now)
    assert backlog["totals"]["open"] == len(still_open)
    assert backlog["totals"]["backlog_index"] == figures(open_counts)["backlog_index"]


@pytest.mark.parametrize(
    "today, first, last",
    [
        # March settled (its report ready from 26 April), April not: March's month, April's days
        (date(2026, 5, 10), date(2026, 2, 20), date(2026, 4, 30)),
        # both settled, the period begun inside March: March's days from the 10th, April's month
        (date(2026, 6, 1), date(2026, 3, 10), date(2026, 4, 30)),
        # nothing settled yet: all days
        (date(2026, 4, 20), date(2026, 3, 1), date(2026, 4, 14)),
    ],
)
def test_figures_read_from_the_months_equal_the_per_request_rules(sessions, unique, today, first, last):
    rng, region, sedi, subjects, stories = world(unique, requests=80, seed=8)
    for ev in delivered_in_any_order_with_duplicates(rng, stories):
        apply(sessions, ev)
    facts = facts_of(sessions, stories)
    now = datetime(today.year, today.month, today.day, 10, tzinfo=UTC)

    def in_region(fact, sede=None, month=None):
        return (
            fact.submitted_at is not None
            and fact.assignment_kind not in (None, "triage")
            and fact.region == region
            and (sede is None or fact.sede_code == sede)
            and first <= rome_date(fact.submitted_at) <= last
            and (month is None or rome_date(fact.submitted_at).strftime("%Y-%m") == month)
        )

    view = DashboardView("region", region)
    query = {"from_day": first, "to_day": last}
    with sessions() as session:
        regional = dashboard.indicators(session, view, query, today)
        trend = dashboard.trend(session, view, query, today)
        backlog = dashboard.backlog(session, view, {}, today)
        past = dashboard.requests(
            session, view, {**query, "bucket": "open_past_sla", "page": 1, "page_size": 1}, today
        )

    assert regional["totals"] == sla_figures([f for f in facts if in_region(f)], now)
    assert regional["totals"]["submitted"] > 0
    for child in regional["children"]:
        expected = sla_figures([f for f in facts if in_region(f, child["code"])], now)
        assert {k: child[k] for k in expected} == expected
    for month in trend["months"]:
        expected = sla_figures([f for f in facts if in_region(f, month=month["month"])], now)
        assert {k: month[k] for k in expected} == expected
    assert past["total"] == regional["totals"]["open_past_sla"]
    open_counts = Counts()
    for f in facts:
        if (
            f.submitted_at
            and f.assignment_kind not in (None, "triage")
            and f.region == region
            and f.state != "closed"
        ):
            open_counts += counts_of(f, now)
    assert backlog["totals"]["open"] == open_counts.open
    assert backlog["totals"]["open_past_sla"] == open_counts.open_past_threshold


def test_a_caller_sees_only_the_levels_of_its_scope(sessions, unique):
    _, region, _, subjects, _ = world(unique, requests=0, seed=7)
    sedi = [(f"{8000 + secrets.randbelow(1000)}", region)]  # a token names a sede with 4 digits
    story = Story(random.Random(1), subjects, sedi)
    for ev in (
        story._submitted(subjects[0], 5, "cassetto"),
        story._routed(story.submitted_at, sedi[0][0], region),
    ):
        apply(sessions, ev)
    regional = Caller.from_claims({"sub": "d", "role": "direttore", "regione": region})
    sede_director = Caller.from_claims({"sub": "d", "role": "direttore", "sede": sedi[0][0]})
    other_region = Caller.from_claims({"sub": "d", "role": "direttore", "regione": "Molise"})

    with sessions() as session:
        assert allowed_view(session, regional, {"level": None, "code": None}) == DashboardView(
            "region", region
        )
        assert allowed_view(session, regional, {"level": "sede", "code": sedi[0][0]}).region == region
        assert allowed_view(session, sede_director, {"level": None, "code": None}).code == sedi[0][0]
        for caller, query in [
            (sede_director, {"level": "sede", "code": "9999"}),
            (sede_director, {"level": "region", "code": None}),
            (other_region, {"level": "sede", "code": sedi[0][0]}),
            (regional, {"level": "national", "code": None}),
            (regional, {"level": "triage", "code": None}),
            (regional, {"level": "sede", "code": f"x{unique}"}),  # a sede never seen: no region known
        ]:
            with pytest.raises(Forbidden):
                allowed_view(session, caller, query)
        national = Caller.from_claims({"sub": "d", "role": "direttore", "scope": "national"})
        assert allowed_view(session, national, {"level": "sede", "code": "9999"}).region is None
