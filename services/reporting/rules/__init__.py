"""Reporting's rules as plain functions: the indicators (``indicators``), where a request
counts in the aggregates (``cells``) and the periods of the dashboard and the monthly
reports (``periods``)."""

from services.reporting.rules.indicators import (
    Counts,
    RequestTiming,
    figures,
    sla_figures,
    sla_snapshot,
)

__all__ = ["Counts", "RequestTiming", "figures", "sla_figures", "sla_snapshot"]
