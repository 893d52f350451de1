"""The lifecycle rules with plain facts: states, follow-ups, reminders (who may act: test_access.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.intake.rules import conversation
from services.intake.rules.conversation import RequestFacts
from shared.errors import Conflict, InvalidInput

SUBMITTED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OPEN = RequestFacts(state="open", origin="patronato", submitted_at=SUBMITTED, assigned_sede="0704")
ANSWERED = replace(OPEN, state="in_progress", first_answer_at=datetime(2026, 3, 5, tzinfo=UTC))


def on(day, hour=10):
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def test_states_move_forward_only():
    assert conversation.take_in_charge(OPEN) == "in_progress"
    with pytest.raises(Conflict) as again:
        conversation.take_in_charge(replace(OPEN, state="in_progress"))
    assert again.value.code == "already_in_progress"
    assert conversation.close(OPEN, "Pratica definita") == "closed"
    for action in (conversation.take_in_charge, conversation.answer):
        with pytest.raises(Conflict) as closed:
            action(replace(OPEN, state="closed"))
        assert closed.value.code == "request_closed"


def test_closing_needs_an_outcome():
    with pytest.raises(InvalidInput) as refused:
        conversation.close(OPEN, "  ")
    assert refused.value.errors[0]["field"] == "outcome"


def test_two_followups_after_the_first_answer_then_refused():
    with pytest.raises(Conflict) as early:
        conversation.add_followup(OPEN)
    assert early.value.code == "no_answer_yet"
    assert conversation.add_followup(ANSWERED) == (1, False)
    assert conversation.add_followup(replace(ANSWERED, followups_count=1)) == (2, False)
    with pytest.raises(Conflict) as third:
        conversation.add_followup(replace(ANSWERED, followups_count=2))
    assert third.value.code == "followups_exhausted"
    assert third.value.status == 409
    assert "2 ulteriori interazioni" in third.value.detail


CLOSED_WITH_FIRST_ANSWER = replace(ANSWERED, state="closed", closed_at=ANSWERED.first_answer_at)


def test_a_followup_reopens_a_request_closed_with_its_first_answer():
    # msg 3813/2021 §1.2: the two further interactions follow the first answer, even a closing one
    assert conversation.add_followup(CLOSED_WITH_FIRST_ANSWER) == (1, True)
    assert conversation.next_actions(CLOSED_WITH_FIRST_ANSWER, on(6))["can_follow_up"] is True


def test_a_request_closed_after_its_first_answer_stays_closed():
    closed_later = replace(CLOSED_WITH_FIRST_ANSWER, closed_at=on(9))
    with pytest.raises(Conflict) as closed:
        conversation.add_followup(closed_later)
    assert closed.value.code == "request_closed"
    assert conversation.next_actions(closed_later, on(10))["can_follow_up"] is False
    with pytest.raises(Conflict) as unanswered:
        conversation.add_followup(replace(OPEN, state="closed", closed_at=on(4)))
    assert unanswered.value.code == "request_closed"


def test_booking_is_possible_on_closing_when_enabled_or_interactions_are_used_up():
    assert conversation.booking_possible_on_closing(ANSWERED, enable_booking=True) is True
    assert conversation.booking_possible_on_closing(ANSWERED, enable_booking=False) is False
    exhausted = replace(ANSWERED, followups_count=2)
    assert conversation.booking_possible_on_closing(exhausted, enable_booking=False) is True
    assert conversation.booking_possible_on_closing(OPEN, enable_booking=False) is False


def test_reminder_from_the_fifteenth_rome_day_without_answer():
    with pytest.raises(Conflict) as early:
        conversation.add_reminder(OPEN, on(15))
    assert early.value.code == "reminder_too_early"
    assert early.value.extra == {"reminder_allowed_from": "2026-03-16"}
    assert "16/03/2026" in early.value.detail
    assert conversation.add_reminder(OPEN, on(16)) == 15


def test_reminder_day_boundary_is_rome_midnight():
    late_evening = RequestFacts(
        state="open",
        origin="patronato",
        submitted_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        assigned_sede=None,
    )
    # 23:30 UTC on 1 March is 2 March in Rome: allowed from 17 March Rome time
    with pytest.raises(Conflict):
        conversation.add_reminder(late_evening, datetime(2026, 3, 16, 22, 0, tzinfo=UTC))
    assert conversation.add_reminder(late_evening, datetime(2026, 3, 16, 23, 30, tzinfo=UTC)) == 15


def test_no_reminder_once_answered_and_next_one_after_fifteen_more_days():
    with pytest.raises(Conflict) as answered:
        conversation.add_reminder(ANSWERED, on(20))
    assert answered.value.code == "already_answered"
    reminded = replace(OPEN, last_reminder_at=on(16))
    with pytest.raises(Conflict):
        conversation.add_reminder(reminded, on(30))
    assert conversation.add_reminder(reminded, on(31)) == 30


def test_next_actions_tell_the_requester_what_is_possible():
    assert conversation.next_actions(OPEN, on(10)) == {
        "followups_left": 2,
        "can_follow_up": False,
        "can_remind": False,
        "reminder_allowed_from": "2026-03-16",
    }
    assert conversation.next_actions(replace(ANSWERED, followups_count=1), on(10)) == {
        "followups_left": 1,
        "can_follow_up": True,
        "can_remind": False,
        "reminder_allowed_from": None,
    }


def test_outbound_communications_are_not_worked():
    outbound = replace(OPEN, origin="sede", state="closed")
    with pytest.raises(Conflict):
        conversation.take_in_charge(replace(outbound, state="open"))
    assert conversation.next_actions(outbound, on(20))["can_remind"] is False
