"""notify's gauges for Prometheus, read from its deliveries table at each scrape
(``shared.telemetry.Telemetry(deliveries_gauges)``): how many deliveries are queued, sent,
failed or skipped on each channel. A count per (channel, status), nothing about anyone."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from services.notify.models import Delivery


def deliveries_gauges(session, service: str) -> list[GaugeMetricFamily]:
    family = GaugeMetricFamily(
        "combid_notify_deliveries",
        "notify's deliveries by channel (email, sms) and status (queued, sent, failed, skipped)",
        labels=["service", "channel", "status"],
    )
    rows = session.execute(
        select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)
    )
    for channel, status, count in rows:
        family.add_metric([service, channel, status], float(count))
    return [family]
