"""The Cruscotto's Customer Care section (Agenda Appuntamenti): share held, no-show rate and
days to the appointment (``rules/customer_care.py`` defines them) of the appointments whose
slot falls in the period, in total, per modality and one level down (regions or sedi).

One SQL aggregation over ``appointment_facts`` with grouping sets: the counts add up, but a
median does not, so the total, each modality and each child are each their own group.
Appointments are far fewer than requests (a booking follows a request left unanswered, or an
office's leave), so they are read directly, by the index on the slot (``slot_start``), with no
aggregate of their own.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, cast, func, literal_column, select, tuple_

from services.reporting.dashboard import CHILD_LEVEL, children_of, period, rome_start, view_output
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


def _rome_day(column):
    return cast(func.timezone("Europe/Rome", column), Date)


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
    passed = ROWS.c.slot_start < rome_start(today)  # the slot's day is over (rules.slot_passed)
    state = ROWS.c.state
    lead = _rome_day(ROWS.c.slot_start) - _rome_day(ROWS.c.booked_at)  # NULL when booked_at is
    # one level down: regions under the nation, sedi under a region, nothing under a sede
    child = ROWS.c.region if view.level == DASHBOARD_NATIONAL else ROWS.c.sede
    groups = [tuple_(), tuple_(ROWS.c.modality)]
    child_kept = literal_column("false")
    if view.level in CHILD_LEVEL:
        groups.append(tuple_(child))
        child_kept = func.grouping(child) == 0
    conditions = [
        ROWS.c.slot_start >= rome_start(first),
        ROWS.c.slot_start < rome_start(last + timedelta(days=1)),
        *_in_view(view),
    ]
    if query.get("modality") is not None:
        conditions.append(ROWS.c.modality == query["modality"])

    def count(condition):
        return func.count().filter(condition)

    statement = (
        select(
            (func.grouping(ROWS.c.modality) == 0).label("grouped_by_modality"),
            child_kept.label("grouped_by_child"),
            (child if view.level in CHILD_LEVEL else literal_column("NULL")).label("child"),
            ROWS.c.modality,
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
            func.count(lead).label("days_known"),
            func.avg(lead).label("days_average"),
            func.percentile_cont(0.5).within_group(lead).label("days_median"),
            func.percentile_cont(0.9).within_group(lead).label("days_p90"),
        )
        .where(*conditions)
        .group_by(func.grouping_sets(*groups))
    )
    totals, modalities, children = _figures(None), {}, {}
    for row in session.execute(statement):
        shaped = _figures(row)
        if row.grouped_by_modality:
            modalities[row.modality] = shaped
        elif row.grouped_by_child:
            if row.child:  # a punto without a region counts in the national total only
                children[row.child] = shaped
        else:
            totals = shaped
    return {
        "view": view_output(session, view),
        "period": {"first_day": first.isoformat(), "last_day": last.isoformat()},
        "as_of": today.isoformat(),
        "totals": totals,
        "modalities": [{"modality": name, **shaped} for name, shaped in sorted(modalities.items())],
        "children": children_of(session, view, children, lambda shaped: shaped),
    }


def _figures(row) -> dict:
    if row is None:
        return customer_care_figures(AppointmentCounts(), LeadTimes())
    counts = AppointmentCounts(
        booked=row.booked,
        due=row.due,
        held=row.held,
        no_show=row.no_show,
        cancelled_by_requester=row.cancelled_by_requester,
        cancelled_by_office=row.cancelled_by_office,
        awaiting_outcome=row.awaiting_outcome,
        upcoming=row.upcoming,
    )
    lead = LeadTimes(
        row.days_known,
        None if row.days_average is None else float(row.days_average),
        row.days_median,
        row.days_p90,
    )
    return customer_care_figures(counts, lead)
