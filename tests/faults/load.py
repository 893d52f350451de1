"""A steady stream of submissions through the gateway, from a background thread."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import requests

from tests.e2e.helpers import auth, request_body, token

# Outcomes a submission can have, as the client sees it.
ACCEPTED = "accettata (2xx)"
REFUSED = "rifiutata 503"
NO_CONNECTION = "gateway non raggiungibile"  # connection refused or reset: the gateway was being killed
SERVER_ERROR = "errore del server (5xx ≠ 503)"
CLIENT_ERROR = "errore 4xx"
NO_ANSWER = "nessuna risposta in tempo"
FAILURES = (SERVER_ERROR, CLIENT_ERROR, NO_ANSWER)


@dataclass
class Submission:
    seq: int
    email: str
    outcome: str = ""
    status: int | None = None
    request_id: str | None = None
    detail: str = ""


class SteadyLoad:
    """``total`` submissions at ``rate`` per second, each with its own contact address (so
    its e-mails can be found), recorded with what the gateway answered."""

    def __init__(self, url: str, total: int, rate: float, client_timeout: float = 30.0):
        self.url, self.total, self.rate, self.client_timeout = url, total, rate, client_timeout
        self.run = uuid.uuid4().hex[:8]
        self.token = token("patronato_operatore", sub=f"faults-{self.run}")
        self.submissions: list[Submission] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._clock = None

    def email(self, seq: int) -> str:
        return f"faults-{self.run}-{seq}@patronato.example"

    @staticmethod
    def sms(seq: int) -> str:
        """A mobile number of its own; every 25th a landline, which can never get an SMS
        (notify records it as failed, with the reason, and retries nothing)."""
        return "0612345678" if seq % 25 == 0 else f"347{seq:07d}"

    def start(self) -> None:
        self._clock = threading.Thread(target=self._pace, name="steady-load", daemon=True)
        self._clock.start()

    def _pace(self) -> None:
        started = time.monotonic()
        for seq in range(self.total):
            wait = started + seq / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # one thread per submission: a slow answer does not hold back the next ones
            worker = threading.Thread(target=self._submit, args=(seq,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _submit(self, seq: int) -> None:
        submission = Submission(seq, self.email(seq))
        try:
            response = requests.post(
                f"{self.url}/api/v1/requests",
                headers=auth(self.token),
                json=request_body(
                    submission.email, contacts={"email": submission.email, "sms": self.sms(seq)}
                ),
                timeout=self.client_timeout,
            )
            submission.status = response.status_code
            if 200 <= response.status_code < 300:
                submission.outcome, submission.request_id = ACCEPTED, response.json()["id"]
            elif response.status_code == 503:
                submission.outcome = REFUSED
            elif response.status_code >= 500:
                submission.outcome, submission.detail = SERVER_ERROR, response.text[:300]
            else:
                submission.outcome, submission.detail = CLIENT_ERROR, response.text[:300]
        except requests.Timeout:
            submission.outcome = NO_ANSWER
        except requests.ConnectionError as exc:
            submission.outcome, submission.detail = NO_CONNECTION, exc.__class__.__name__
        with self._lock:
            self.submissions.append(submission)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._clock.join(max(0.0, deadline - time.monotonic()))
        for worker in list(self._threads):
            worker.join(max(0.0, deadline - time.monotonic()))

    @property
    def sent(self) -> int:
        with self._lock:
            return len(self.submissions)

    def outcomes(self) -> Counter:
        with self._lock:
            return Counter(s.outcome for s in self.submissions)

    def accepted(self) -> dict[str, Submission]:
        with self._lock:
            return {s.request_id: s for s in self.submissions if s.outcome == ACCEPTED}

    def failures(self) -> list[Submission]:
        with self._lock:
            return [s for s in self.submissions if s.outcome in FAILURES]
