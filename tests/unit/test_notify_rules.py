"""notify's rules (who is told what, on which channel) and its texts, without a database."""

from datetime import UTC, datetime

import pytest

from services.notify import messages, rules
from services.notify.templates.__main__ import main as templates_command
from services.notify.templates.__main__ import sample
from shared.vocabulary import NOTICE_KINDS

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROMA = {"kind": "sede", "code": "7000", "name": "Direzione provinciale di Roma", "queue": "pensioni"}
BARI = {"kind": "sede", "code": "0704", "name": "Direzione provinciale di Bari", "queue": "pensioni"}


def test_every_kind_in_the_vocabulary_has_its_rule_and_its_texts():
    assert tuple(rules.NOTICE_KINDS) == NOTICE_KINDS
    for kind in NOTICE_KINDS:
        message = sample(kind)
        assert message.template == kind
        assert message.subject_line and message.body and message.short and message.html


def test_the_first_routing_tells_where_the_request_went():
    assert rules.routing_notice(ROMA, None) == "request_routed"
    assert (
        rules.routing_notice({"kind": "triage", "code": "triage", "name": "Triage"}, None) == "request_routed"
    )


def test_a_move_within_the_same_sede_tells_nothing():
    other_area = {**ROMA, "queue": "soggetto_contribuente"}
    assert rules.routing_notice(other_area, ROMA) is None


def test_a_move_to_another_sede_says_so():
    assert rules.routing_notice(BARI, ROMA) == "request_reassigned"
    # out of triage to a sede is a change of office too
    assert rules.routing_notice(ROMA, {"kind": "triage", "code": "triage"}) == "request_reassigned"


@pytest.mark.parametrize(
    ("kind", "preference", "expected"),
    [
        ("request_closed", None, (True, True)),
        ("request_closed", rules.ChannelChoice(email=False, sms=True), (False, True)),
        ("request_closed", rules.ChannelChoice(email=True, sms=False), (True, False)),
        # a kind without SMS never sends one, whatever the preference
        ("request_answered", None, (True, False)),
        ("request_taken_in_charge", rules.ChannelChoice(email=True, sms=True), (True, False)),
    ],
)
def test_channels_are_the_kinds_less_what_the_requester_switched_off(kind, preference, expected):
    choice = rules.channels_for(kind, preference)
    assert (choice.email, choice.sms) == expected


def test_the_contact_address_falls_back_to_the_token_then_the_office():
    assert rules.contact_email("a@x.it", "b@x.it", "c@x.it") == "a@x.it"
    assert rules.contact_email(None, "b@x.it", "c@x.it") == "b@x.it"
    assert rules.contact_email("", None, "c@x.it") == "c@x.it"
    assert rules.contact_email(None, None, None) is None


def test_the_reassignment_text_names_the_new_sede_and_says_nothing_is_needed():
    message = messages.render_request_reassigned("COMBID.2026.00000001", "sollecito_domanda", BARI, ROMA)
    assert message.subject_line == "Richiesta n. COMBID.2026.00000001 assegnata a un'altra sede"
    assert "Direzione provinciale di Bari (codice 0704)" in message.body
    assert "in luogo di: Direzione provinciale di Roma" in message.body
    assert "Non deve fare nulla" in message.body


def test_the_html_alternative_is_the_text_escaped_with_links():
    message = messages.render_outbound_message('<script>alert("x")</script> & F24', "7000", AT)
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html and "&amp; F24" in message.html
    booked = sample("appointment_booked")
    assert '<a href="https://meet.inps.example/combid/abc123">' in booked.html
    assert booked.html.count("<p ") == len(messages.paragraphs(booked.body))


def test_the_short_text_of_a_notice_is_one_line():
    for kind in NOTICE_KINDS:
        assert "\n" not in sample(kind).short


def test_the_preview_command_prints_every_format(capsys):
    assert templates_command(["preview", "request_closed", "--format", "sms"]) == 0
    assert capsys.readouterr().out.startswith("INPS: la richiesta n. COMBID.2026.00012345 è stata chiusa.")
    assert templates_command(["preview", "appointment_booked"]) == 0
    shown = capsys.readouterr().out
    assert "Oggetto: Appuntamento confermato" in shown and "allegato: appuntamento-" in shown
    assert templates_command(["list"]) == 0
    assert "request_taken_in_charge" in capsys.readouterr().out
