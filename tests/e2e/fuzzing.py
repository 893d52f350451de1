"""API fuzzing with schemathesis: every operation of ``/api/v1/openapi.json``, once per role.

Only server errors count (``not_a_server_error``: issue 7 asks that no input, header or
token produce a 5xx); generated strings may contain NUL characters. The gateway must be
on this machine: the tool refuses any other host, so a fuzzing run never reaches a real
system.

A short, deterministic run is part of ``make test`` (tests/e2e/test_schemathesis.py); a
long one runs against ``make run``::

    .venv/bin/python -m tests.e2e.fuzzing --max-examples 500 --max-time 600

Tokens are signed with ``JWT_SECRET`` (the development secret if unset), as
``gateway.devtoken`` does.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from gateway.auth import issue_token
from shared.config import LOCAL_DEFAULTS

LOCAL_HOSTS = ("127.0.0.1",)
OPENAPI_PATH = "/api/v1/openapi.json"
# one token per role, with the scope it needs to get past authorisation into the services
ROLE_CLAIMS = {
    "azienda": dict(matricole=["7012345678"]),
    "intermediario": dict(matricole=["7012345678"], codice_fiscale="BNCLRA80A41H501Y"),
    "patronato_operatore": dict(patronato="001", ufficio="0001"),
    "patronato_referente": dict(patronato="001", ufficio="0001"),
    "patronato_admin": dict(patronato="001", ufficio="0001"),
    "sede_operatore": dict(sede="0704", groups=["APP_FEA_COMBID"]),
    "direttore": dict(scope="national"),
    "admin": dict(),
}


@dataclass
class RoleRun:
    role: str
    returncode: int
    seconds: float
    output: str

    @property
    def passed(self) -> bool:
        return self.returncode == 0


def local_url(base_url: str) -> str:
    """``base_url`` without a trailing slash; refuses anything but this machine."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname not in LOCAL_HOSTS:
        raise ValueError(f"fuzzing only targets http://127.0.0.1, not {base_url!r}")
    return base_url.rstrip("/")


def role_token(role: str, lifetime: timedelta) -> str:
    secret = os.environ.get("JWT_SECRET") or LOCAL_DEFAULTS["JWT_SECRET"]
    return issue_token(secret, sub=f"fuzz-{role}", role=role, lifetime=lifetime, **ROLE_CLAIMS[role])


def command(base_url: str, token: str, *, max_examples: int, seed: int, max_time: int | None,
            workers: int) -> list[str]:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    argv = [
        executable, "run", f"{base_url}{OPENAPI_PATH}",
        "--url", base_url,  # the schema names no server: requests go where it was read from
        "--header", f"Authorization: Bearer {token}",
        "--checks", "not_a_server_error",
        "--generation-allow-x00", "true",
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--workers", str(workers),
        "--request-timeout", "30",
        "--continue-on-failure",
        "--no-color",
        "--warnings", "off",
    ]
    if max_time:  # a long run: fuzzing goes on until the time is spent
        argv += ["--max-time", str(max_time), "--generation-database", "none"]  # nothing written to the work tree
    else:  # a short run: the same examples every time, and no example database
        argv += ["--generation-deterministic"]
    return argv


def run_role(base_url: str, role: str, *, max_examples: int, seed: int = 7, max_time: int | None = None,
             workers: int = 1, timeout: float | None = None) -> RoleRun:
    base_url = local_url(base_url)
    lifetime = timedelta(hours=1) if not max_time else timedelta(hours=11)
    tok = role_token(role, lifetime)
    argv = command(base_url, tok, max_examples=max_examples, seed=seed, max_time=max_time, workers=workers)
    env = dict(os.environ, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    return RoleRun(role, done.returncode, time.monotonic() - started, done.stdout + done.stderr)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Fuzzing dell'API con schemathesis, un giro per ruolo (solo 127.0.0.1)"
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="gateway (solo 127.0.0.1)")
    parser.add_argument("--max-examples", type=int, default=500, help="esempi per operazione")
    parser.add_argument(
        "--max-time", type=int, default=None, help="secondi per ruolo (il fuzzing continua fino allo scadere)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--role", action="append", choices=sorted(ROLE_CLAIMS), help="solo questo ruolo (ripetibile)"
    )
    args = parser.parse_args(argv)
    try:
        local_url(args.url)
    except ValueError as exc:
        parser.error(str(exc))
    failed = []
    for role in args.role or ROLE_CLAIMS:
        result = run_role(
            args.url, role,
            max_examples=args.max_examples, seed=args.seed, max_time=args.max_time, workers=args.workers,
        )
        verdict = "ok" if result.passed else "ERRORI"
        print(f"==== {role}: {verdict} in {result.seconds:.0f} s\n{result.output}", flush=True)
        if not result.passed:
            failed.append(role)
    print(f"ruoli con errori: {', '.join(failed)}" if failed else "nessun errore del server")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
