"""The admin status summary (gateway/api/admin.py) and the outbox's aggregate key."""

from __future__ import annotations

from gateway.api.admin import summarise
from shared.events import make_event
from shared.outbox import aggregate_key


def healthy(**extra):
    report = {
        "service": "x",
        "database": "ok",
        "outbox": {
            "pending": 0,
            "oldest_pending_age_seconds": None,
            "parked": 0,
            "oldest_parked_age_seconds": None,
        },
        "dead_letters": {"total": 0, "queues": {}},
    }
    report.update(extra)
    return report


def test_all_quiet_is_ok_with_nothing_to_look_at():
    summary = summarise({"intake": healthy(unrouted_requests=0), "notify": healthy(failed_deliveries=0)})
    assert summary["status"] == "ok"
    assert summary["attention"] == []
    assert summary["services"]["intake"]["status"] == "ok"
    assert "service" not in summary["services"]["intake"]


def test_figures_add_up_and_name_what_needs_an_operator():
    intake = healthy(unrouted_requests=3)
    intake["outbox"] = dict(intake["outbox"], parked=2, pending=5)
    dead = {"total": 4, "queues": {"combid.notify.request_routed.dead": 4}}
    notify = healthy(failed_deliveries=1, dead_letters=dead)
    summary = summarise({"intake": intake, "notify": notify, "routing": healthy()})
    assert summary["totals"] == {
        "outbox_parked": 2,
        "dead_letters": 4,
        "unrouted_requests": 3,
        "failed_deliveries": 1,
        "outbox_pending": 5,
    }
    assert summary["attention"] == ["dead_letters", "failed_deliveries", "outbox_parked", "unrouted_requests"]
    assert summary["status"] == "ok"  # every service answered: figures to act on, not an outage


def test_a_silent_or_half_blind_service_is_reported_and_the_others_still_shown():
    summary = summarise(
        {
            "intake": healthy(),
            "reporting": {"status": "no_answer", "error": "timeout"},
            "agenda": healthy(database="database_unavailable", outbox=None),
            "notify": healthy(dead_letters={"error": "broker_unavailable"}),
        }
    )
    assert summary["status"] == "degraded"
    services = summary["services"]
    assert services["reporting"] == {"status": "no_answer", "error": "timeout"}
    assert services["agenda"]["status"] == "degraded"
    assert services["notify"]["status"] == "degraded"
    assert services["intake"]["status"] == "ok"
    assert {"service_no_answer", "service_degraded"} <= set(summary["attention"])


def test_aggregate_key_is_the_request_else_the_event_itself():
    closed = make_event(
        "request_closed",
        {
            "request_id": "7d1e8c1e-0000-4000-8000-000000000001",
            "protocol": "COMBID.2026.00000001",
            "actor": "op",
            "actor_role": "operatore_sede",
            "at": "2026-11-23T10:00:00+00:00",
            "outcome": "accolta",
            "booking_enabled": False,
        },
        producer="intake",
    )
    assert aggregate_key(closed) == "7d1e8c1e-0000-4000-8000-000000000001"
    recorded = make_event(
        "contact_center_message_recorded",
        {
            "message_id": "m1",
            "kind": "fax_inbound",
            "matricola": "1234567890",
            "recorded_at": "2026-11-23T10:00:00+00:00",
        },
        producer="intake",
    )
    assert aggregate_key(recorded) == recorded.event_id
