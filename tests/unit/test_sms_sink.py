"""The local SMS gateway sink: what it accepts and refuses, what it stores, its failure
injection and its command line (real HTTP on 127.0.0.1)."""

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from deploy.local.sms_sink import (
    CONTROL_PATH,
    HEALTH_PATH,
    SEND_PATH,
    InvalidSend,
    SmsSink,
    gateway_url,
    read_sms,
    validate,
)
from deploy.local.stack import wait_until
from shared.config import REPO_ROOT
from tests.harness import free_port

CREDENTIALS = {"user_key": "combid", "Access_token": "segreto"}


def body(**changes):
    sent = {
        "message_type": "N",
        "message": "La richiesta COMBID.2026.00000001 è stata protocollata.",
        "recipient": ["+393471234567"],
        "sender": "INPS",
        "order_id": "6f1c1e9e-2b7e-4a51-9d0e-3f9c6b0d2a11",
    }
    sent.update(changes)
    return {key: value for key, value in sent.items() if value is not None}


@pytest.fixture
def sink(tmp_path):
    with SmsSink(tmp_path / "sms") as running:
        yield running


def post(sink, payload, headers=CREDENTIALS, path=SEND_PATH):
    return requests.post(sink.base_url + path, json=payload, headers=headers, timeout=5)


# ---- validation (no server) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"message_type": "X"}, "message_type"),
        ({"message": ""}, "message"),
        ({"message": "a" * 1531}, "message"),
        ({"recipient": []}, "recipient"),
        ({"recipient": "+393471234567"}, "recipient"),
        ({"recipient": ["3471234567"]}, "recipient"),  # not E.164
        ({"recipient": ["+39 347 1234567"]}, "recipient"),
        ({"sender": "COMUNICAZIONEINPS"}, "sender"),  # 17 characters
        ({"sender": None}, "sender"),
        ({"order_id": "a" * 65}, "order_id"),
        ({"order_id": "a/b"}, "order_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_send_the_provider_would_refuse_is_refused_naming_the_field(changes, field):
    with pytest.raises(InvalidSend, match=field):
        validate(body(**changes))


def test_a_valid_send_passes_as_it_is():
    assert validate(body()) == body()
    assert validate(body(order_id=None, sender="3912345678")) == body(order_id=None, sender="3912345678")


# ---- over HTTP -----------------------------------------------------------------------


def test_an_accepted_sms_is_answered_like_the_provider_and_stored_as_json(sink):
    response = post(sink, body())

    assert response.status_code == 201
    answer = response.json()
    assert answer["result"] == "OK"
    assert answer["order_id"] == body()["order_id"]
    assert answer["total_sent"] == 1
    assert answer["internal_order_id"]
    [stored] = read_sms(sink.directory)
    assert stored["recipient"] == ["+393471234567"]
    assert stored["message"] == body()["message"]  # UTF-8 kept: "è"
    assert stored["sender"] == "INPS"
    assert stored["order_id"] == body()["order_id"]
    assert stored["internal_order_id"] == answer["internal_order_id"]
    assert not list(sink.directory.glob("*.tmp"))  # written atomically


def test_a_resent_order_is_answered_again_and_stored_once(sink):
    first = post(sink, body()).json()
    again = post(sink, body()).json()
    other = post(sink, body(order_id="another-order")).json()

    assert again == first
    assert other["internal_order_id"] != first["internal_order_id"]
    assert [sms["order_id"] for sms in sink.received()] == [body()["order_id"], "another-order"]


def test_the_orders_already_stored_are_still_known_after_a_restart(tmp_path):
    with SmsSink(tmp_path / "sms") as first:
        answer = post(first, body()).json()
    with SmsSink(tmp_path / "sms") as second:
        assert post(second, body()).json() == answer
        assert len(second.received()) == 1


def test_a_send_without_credentials_is_401_and_nothing_is_stored(sink):
    response = post(sink, body(), headers={})

    assert response.status_code == 401
    assert response.json()["result"] == "KO"
    assert sink.received() == []


def test_expected_credentials_are_checked_when_given(tmp_path):
    with SmsSink(tmp_path / "sms", user="combid", token="segreto") as checking:
        wrong = {"user_key": "combid", "Access_token": "altro"}
        assert post(checking, body(), headers=wrong).status_code == 401
        assert post(checking, body()).status_code == 201


def test_an_invalid_body_is_400_with_the_reason(sink):
    response = post(sink, body(recipient=["3471234567"]))

    assert response.status_code == 400
    assert "recipient" in response.json()["error"]
    bad_json = requests.post(
        sink.url, data=b"{not json", headers={**CREDENTIALS, "Content-Type": "application/json"}, timeout=5
    )
    assert bad_json.status_code == 400
    assert sink.received() == []


def test_a_body_too_large_is_413(sink):
    response = requests.post(sink.url, data=b"x" * (64 * 1024 + 1), headers=CREDENTIALS, timeout=5)
    assert response.status_code == 413


def test_another_path_is_404(sink):
    assert post(sink, body(), path="/sms").status_code == 404
    assert requests.get(sink.base_url + "/", timeout=5).status_code == 404


def test_health_counts_what_was_received(sink):
    assert requests.get(sink.base_url + HEALTH_PATH, timeout=5).json()["received"] == 0
    post(sink, body())
    health = requests.get(sink.base_url + HEALTH_PATH, timeout=5).json()
    assert health["status"] == "ok"
    assert health["received"] == 1


def test_the_next_n_sends_fail_with_the_injected_status_and_store_nothing(sink):
    control = requests.post(sink.base_url + CONTROL_PATH, json={"fail_status": 503, "times": 2}, timeout=5)
    assert control.status_code == 200
    assert control.json() == {"fail_status": 503, "delay_seconds": 0.0, "times": 2}

    statuses = [post(sink, body()).status_code for _ in range(3)]

    assert statuses == [503, 503, 201]
    assert len(sink.received()) == 1
    assert requests.get(sink.base_url + CONTROL_PATH, timeout=5).json()["times"] == 0


def test_injected_failures_can_be_cleared(sink):
    requests.post(sink.base_url + CONTROL_PATH, json={"fail_status": 500, "times": 10}, timeout=5)
    requests.post(sink.base_url + CONTROL_PATH, json={"times": 0}, timeout=5)
    assert post(sink, body()).status_code == 201


@pytest.mark.parametrize(
    "settings",
    [{"fail_status": 200}, {"fail_status": "503"}, {"times": -1}, {"delay_seconds": 500}, [1]],
)
def test_a_control_request_out_of_bounds_is_400(sink, settings):
    response = requests.post(sink.base_url + CONTROL_PATH, json=settings, timeout=5)
    assert response.status_code == 400


def test_an_injected_delay_holds_the_answer(sink):
    sink.fail_next(status=None, delay_seconds=1.0)
    with pytest.raises(requests.Timeout):
        requests.post(sink.url, json=body(), headers=CREDENTIALS, timeout=0.3)
    # the sink went on after the delay: the SMS was accepted though the answer was lost
    wait_until(lambda: len(sink.received()) == 1, 5, "SMS dopo il ritardo")


# ---- command line --------------------------------------------------------------------


def test_serve_and_list_from_the_command_line(tmp_path):
    port = free_port()
    directory = tmp_path / "sms"
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.local.sms_sink", "serve", "--port", str(port), "--dir", directory],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: requests.get(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=1).ok, 20, "sink SMS"
        )
        response = requests.post(gateway_url(port), json=body(), headers=CREDENTIALS, timeout=5)
        assert response.status_code == 201
    finally:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(10) == 0  # stops cleanly on SIGTERM

    listed = subprocess.run(
        [sys.executable, "-m", "deploy.local.sms_sink", "list", "--dir", str(directory)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "+393471234567" in listed.stdout
    assert "è stata protocollata" in listed.stdout
    assert listed.stdout.strip().endswith(f"1 SMS in {directory}")
    assert json.loads(next(directory.glob("*.json")).read_text())["sender"] == "INPS"
