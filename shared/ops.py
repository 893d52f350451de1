"""What an operator needs to know about one service, for ``GET /api/v1/admin/status``.

``service_status`` answers with the service's outbox (backlog and parked rows), its
dead-letter queues and the service's own figures (``extra``). Each part is read on its
own: a database outage still lets the dead letters be counted, and the other way round;
the part that failed says so (``"database": "database_unavailable"``, ``"dead_letters":
{"error": "broker_unavailable"}``). Counts and ages only: no payload, no personal data.
"""

from __future__ import annotations

import logging

from nameko import config

from shared.deadletters import dead_letter_counts
from shared.outages import describe, outage_code
from shared.outbox import outbox_summary

log = logging.getLogger(__name__)


def _part(service: str, name: str, read):
    try:
        return read()
    except Exception as exc:
        code = outage_code(exc)
        if code is None:
            raise
        log.warning("ops status of %s: %s unreadable, %s (%s)", service, name, code, describe(exc))
        return {"error": code}


def service_status(service: str, db, now, extra=None) -> dict:
    """``db`` is the worker's ``DatabaseAccess``; ``extra(session, now)`` returns the
    service's own counts (e.g. unrouted requests), read in the same transaction."""

    def database_part():
        with db.begin() as session:
            part = {"outbox": outbox_summary(session, now)}
            if extra is not None:
                part.update(extra(session, now))
            return part

    def dead_letters_part():
        queues = dead_letter_counts(config["AMQP_URI"], service)
        return {"total": sum(count or 0 for count in queues.values()), "queues": queues}

    report = {"service": service}
    database = _part(service, "database", database_part)
    report["database"] = database.pop("error", "ok")
    report.update(database)
    report["dead_letters"] = _part(service, "dead letters", dead_letters_part)
    return report
