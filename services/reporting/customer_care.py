"""The Cruscotto's Customer Care section (Agenda Appuntamenti): share held, no-show rate and
days to the appointment (``rules/customer_care.py`` defines them) of the appointments whose
slot falls in the period, in total, per modality and one level down (regions or sedi).

One SQL aggregation over ``appointment_facts``, grouped by child, modality and days to the
appointment (a few thousand groups nationally): the counts add up, and so does a histogram of
the days, from which the median and the 90th percentile of any sum of groups are read. The
slot's and the booking's days (Rome) are kept in the row, so no instant is converted here.
Appointments are far fewer than requests (a booking follows a request left unanswered, or an
office's leave), so they are read directly, by the index on the slot's day, with no aggregate
of their own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, literal_column, select

from services.reporting.dashboard import CHILD_LEVEL, children_of, period, view_output
from services.reporting.models import AppointmentFact
from services.reporting.rules.customer_care import (
    CANCELLED_BY_OFFICE,
    CANCELLED_BY_REQUESTER,
    CONFIRMED,
    HELD,
    NO_SHOW,
    AppointmentCounts,
    LeadTimes,
    customer_care_figures,
)
from shared.access import DASHBOARD_NATIONAL, DASHBOARD_REGION, DASHBOARD_SEDE, DashboardView

ROWS = AppointmentFact.__table__


def _in_view(view: DashboardView):
    if view.level == DASHBOARD_REGION:
        return [ROWS.c.region == view.code]
    if view.level == DASHBOARD_SEDE:
        return [ROWS.c.sede == view.code]
    return []  # national (the query schema admits no triage: appointments have a sede)


def customer_care(session, view: DashboardView, query: dict, today: date) -> dict:
    """The three indicators of the appointments whose slot day (Rome) is in the period,
    measured on ``today``: in total, per modality, and per region or sede one level down."""
    first, last = period(query.get("from_day"), query.get("to_day"), today)
    passed = ROWS.c.slot_day < today  # the slot's day is over (rules.slot_passed)
    state = ROWS.c.state
    lead = (ROWS.c.slot_day - ROWS.c.booked_day).label("lead")  # NULL when the booking day is unknown
    # one level down: regions under the nation, sedi under a region, nothing under a sede
    child_column = ROWS.c.region if view.level == DASHBOARD_NATIONAL else ROWS.c.sede
    grouping = [ROWS.c.modality, lead]
    if view.level in CHILD_LEVEL:
        grouping.append(child_column)
        child = child_column.label("child")
    else:
        child = literal_column("NULL").label("child")
    conditions = [ROWS.c.slot_day.between(first, last), *_in_view(view)]
    if query.get("modality") is not None:
        conditions.append(ROWS.c.modality == query["modality"])

    def count(condition):
        return func.count().filter(condition)

    statement = (
        select(
            child,
            ROWS.c.modality,
            lead,
            func.count().label("booked"),
            count(state.in_((HELD, NO_SHOW)) | (passed & state.in_((CONFIRMED, CANCELLED_BY_OFFICE)))).label(
                "due"
            ),
            count(state == HELD).label("held"),
            count(state == NO_SHOW).label("no_show"),
            count(state == CANCELLED_BY_REQUESTER).label("cancelled_by_requester"),
            count(state == CANCELLED_BY_OFFICE).label("cancelled_by_office"),
            count((state == CONFIRMED) & passed).label("awaiting_outcome"),
            count((state == CONFIRMED) & ~passed).label("upcoming"),
        )
        .where(*conditions)
        .group_by(*grouping)
    )
    # counts add up, and so do histograms of the days: the total, each modality and each child
    # are summed here from one small grouping (a median could not be summed)
    totals, modalities, children = _Group(), defaultdict(_Group), defaultdict(_Group)
    for row in session.execute(statement):
        counts = AppointmentCounts(*row[3:])  # in the order of the select: booked … upcoming
        for group in (totals, modalities[row.modality], children[row.child]):
            group.add(counts, row.lead)
    return {
        "view": view_output(session, view),
        "period": {"first_day": first.isoformat(), "last_day": last.isoformat()},
        "as_of": today.isoformat(),
        "totals": totals.figures(),
        "modalities": [{"modality": name, **group.figures()} for name, group in sorted(modalities.items())],
        # a punto without a region counts in the national total only
        "children": children_of(
            session, view, {code: group for code, group in children.items() if code}, _Group.figures
        ),
    }


class _Group:
    """The counts and the histogram of the days to the appointment of a set of bookings."""

    def __init__(self):
        self.counts = AppointmentCounts()
        self.days: dict[int, int] = defaultdict(int)

    def add(self, counts: AppointmentCounts, lead: int | None) -> None:
        self.counts += counts
        if lead is not None:
            self.days[lead] += counts.booked

    def figures(self) -> dict:
        return customer_care_figures(self.counts, LeadTimes.of_histogram(self.days))
