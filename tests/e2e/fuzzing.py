"""API fuzzing with schemathesis: every operation of ``/api/v1/openapi.json``, once per role.

Every phase runs (examples, coverage, fuzzing, and the stateful phase, which follows the
document's links: a submitted request to its detail, follow-ups, take in charge, answer,
close...) with these checks:

- ``not_a_server_error``: no input, header or token produces a 5xx (issue 7);
- ``response_schema_conformance``: every answer is what the document declares (issue 8);
- ``negative_data_rejection``: what the document forbids is refused with a 4xx;
- ``positive_data_acceptance``: what the document allows is accepted, or refused only by a
  business rule the operation lists (its 4xx responses' ``x-business-rules``: for those
  statuses the check expects them, and ``refused_only_by_business_rules`` below makes sure
  that every code in such a refusal is one of the listed rules, never a shape error).

Generated strings may contain NUL characters. A few real requests are submitted first and
offered to the generator as path ids (``request_id``, ``attachment_id``), so that
operations on a request get past "not found" and meet the services' rules with hostile
bodies. The gateway must be on this machine: any other host is refused, so a fuzzing run
never reaches a real system.

A short, deterministic run is part of ``make test`` (tests/e2e/test_schemathesis.py); a
long one runs against ``make run``::

    .venv/bin/python -m tests.e2e.fuzzing --max-examples 500

Tokens are signed with ``JWT_SECRET`` (the development secret if unset), as
``gateway.devtoken`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
import schemathesis

from gateway.auth import issue_token
from shared.config import LOCAL_DEFAULTS, REPO_ROOT

LOCAL_HOSTS = ("127.0.0.1",)
OPENAPI_PATH = "/api/v1/openapi.json"
MATRICOLA = "7012345678"
# one token per role, with the scope it needs to get past authorisation into the services;
# the official's sede is where the seeded patronato requests are routed (CAP 00184: Roma)
ROLE_CLAIMS = {
    "azienda": dict(matricole=[MATRICOLA]),
    "intermediario": dict(matricole=[MATRICOLA], codice_fiscale="BNCLRA80A41H501Y"),
    "patronato_operatore": dict(patronato="001", ufficio="0001"),
    "patronato_referente": dict(patronato="001", ufficio="0001"),
    "patronato_admin": dict(patronato="001", ufficio="0001"),
    "sede_operatore": dict(sede="0704", groups=["APP_FEA_COMBID"]),
    "direttore": dict(scope="national"),
    "admin": dict(),
}
PATRONATO_REQUEST = {
    "subject": "requisiti_accesso",
    "text": "Richiesta per il fuzzing dell'API.",
    "citizen": {"codice_fiscale": "RSSMRA85T10A562S", "cap": "00184"},
}
CASSETTO_REQUEST = {
    "subject": "generico_informativo",
    "text": "Richiesta per il fuzzing dell'API.",
    "matricola": MATRICOLA,
}
# valid values the generator alone would rarely find (a codice fiscale with its check
# character, a CAP that exists, a subject of the catalog, a sede in force)
VALID_VALUES = {
    "codici_fiscali": ["RSSMRA85T10A562S"],
    "caps": ["00184", "02100"],
    "matricole": [MATRICOLA],
    "sedi": ["0703", "0704"],
}
# the subjects of the role's channel (one needing an identifier), all of them for the others:
# a submission on a subject of the catalog gets to the other rules, and then to the links
PATRONATO_SUBJECTS = ["requisiti_accesso", "sollecito_domanda"]
CASSETTO_SUBJECTS = ["generico_informativo", "regolarita_contributiva"]
ROLE_SUBJECTS = {
    "azienda": CASSETTO_SUBJECTS,
    "intermediario": CASSETTO_SUBJECTS,
    "patronato_operatore": PATRONATO_SUBJECTS,
    "patronato_referente": [*PATRONATO_SUBJECTS, "chiarimento_normativo"],
    "patronato_admin": PATRONATO_SUBJECTS,
}
BINDINGS = {
    "path.request_id": "request_ids",
    "path.attachment_id": "attachment_ids",
    "body.citizen.codice_fiscale": "codici_fiscali",
    "body.citizen.cap": "caps",
    "body.matricola": "matricole",
    "body.subject": "subjects",
    "body.sede": "sedi",
    "body.parent_id": "request_ids",
}
PDF = b"%PDF-1.4 fuzz"
SEEDED_REQUESTS = 3  # of each kind: the generator may close or move some of them
DICTIONARY_PROBABILITY = 0.6  # how often a bound value comes from its dictionary rather than the generator
PHASES = "examples,coverage,fuzzing,stateful"
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "refused_only_by_business_rules",
)
# schemathesis 4.32.5's default for positive_data_acceptance; an operation adds the statuses
# of its business rules (e.g. 422 unknown_cap for a submission)
POSITIVE_DATA_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
STATEFUL_MAX_STEPS = 6  # calls in one scenario: submit, detail, take, answer, follow-up, close


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


def role_token(role: str, lifetime: timedelta = timedelta(hours=1)) -> str:
    secret = os.environ.get("JWT_SECRET") or LOCAL_DEFAULTS["JWT_SECRET"]
    return issue_token(secret, sub=f"fuzz-{role}", role=role, lifetime=lifetime, **ROLE_CLAIMS[role])


def seed(base_url: str) -> dict[str, list[str]]:
    """Real requests (patronato and cassetto, one with an attachment) for the path ids."""
    base_url = local_url(base_url)
    session = requests.Session()
    session.trust_env = False

    def post(role, path, **kwargs):
        headers = {"Authorization": f"Bearer {role_token(role)}"}
        response = session.post(f"{base_url}{path}", headers=headers, timeout=30, **kwargs)
        if response.status_code != 201:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:500]}")
        return response.json()["id"]

    attachment = post("patronato_operatore", "/api/v1/attachments", files={"file": ("fuzz.pdf", PDF)})
    bodies = [("patronato_operatore", dict(PATRONATO_REQUEST, attachments=[attachment]))]
    bodies += [("patronato_operatore", PATRONATO_REQUEST)] * (SEEDED_REQUESTS - 1)
    bodies += [("azienda", CASSETTO_REQUEST)] * SEEDED_REQUESTS
    request_ids = [post(role, "/api/v1/requests", json=body) for role, body in bodies]
    return {"request_ids": request_ids, "attachment_ids": [attachment]}


def business_rules(document: dict) -> dict[str, dict[str, list[str]]]:
    """operationId -> {status: rule codes}: the refusals of well-formed requests each
    operation lists (``x-business-rules`` of its responses)."""
    found = {}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            rules = {
                status: list(response["x-business-rules"])
                for status, response in operation.get("responses", {}).items()
                if "x-business-rules" in response
            }
            if rules:
                found[operation["operationId"]] = rules
    return found


def fetch_document(base_url: str) -> dict:
    session = requests.Session()
    session.trust_env = False
    response = session.get(f"{local_url(base_url)}{OPENAPI_PATH}", timeout=30)
    response.raise_for_status()
    return response.json()


def write_config(
    directory: Path,
    seeds: dict[str, list[str]],
    document: dict | None = None,
    role: str | None = None,
    stateful_scenarios: int | None = None,
) -> Path:
    """``directory/<role>/schemathesis.toml``: the seeded ids and a few valid values offered to
    the generator (TOML strings written as JSON strings), and, for each operation that
    business rules may refuse, the statuses of those refusals among the answers valid data
    may get. ``stateful_scenarios``: the stateful phase's own number of scenarios (else
    ``--max-examples``)."""

    def values(items):
        return "[" + ", ".join(json.dumps(item) for item in items) + "]"

    subjects = ROLE_SUBJECTS.get(role, [*PATRONATO_SUBJECTS, *CASSETTO_SUBJECTS])
    dictionaries = {**seeds, **VALID_VALUES, "subjects": subjects}
    lines = [f"[dictionaries.{name}]\nvalues = {values(items)}\n" for name, items in dictionaries.items()]
    lines.append(f"[phases.stateful]\nmax-steps = {STATEFUL_MAX_STEPS}\n")
    if stateful_scenarios:
        lines.append(f"[phases.stateful.generation]\nmax-examples = {stateful_scenarios}\n")
    lines.append("[parameters]")
    for parameter, dictionary in BINDINGS.items():
        binding = f'{{ dictionary = "{dictionary}", probability = {DICTIONARY_PROBABILITY} }}'
        lines.append(f'"{parameter}" = {binding}')
    for operation_id, rules in sorted(business_rules(document or {}).items()):
        statuses = POSITIVE_DATA_ACCEPTED + sorted(set(rules) - set(POSITIVE_DATA_ACCEPTED))
        lines.append(
            f"\n[[operations]]\ninclude-operation-id = {json.dumps(operation_id)}\n"
            f"checks.positive_data_acceptance.expected-statuses = {values(statuses)}"
        )
    path = directory / (role or "all") / "schemathesis.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@schemathesis.check
def refused_only_by_business_rules(ctx, response, case):
    """A request the document allows may be refused with 400 or 422 only by a business rule
    the operation lists for that status: every code of the problem (each field's ``code``,
    else the problem's) must be one of them. ``invalid_field`` is a shape error: the
    document should have said so."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    declared = case.operation.definition.raw.get("responses", {}).get(str(response.status_code), {})
    allowed = set(declared.get("x-business-rules", ()))
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    codes = [error.get("code") for error in problem.get("errors") or []] or [problem.get("code")]
    unexpected = [code for code in codes if code not in allowed]
    if unexpected:
        raise AssertionError(
            f"Schema-valid request refused with {response.status_code} {', '.join(map(str, unexpected))}, "
            f"which is not a business rule of the operation ({', '.join(sorted(allowed)) or 'none listed'})"
        )
    return None


def command(
    base_url: str,
    token: str,
    config: Path,
    *,
    max_examples: int,
    max_time: int | None = None,
    seed_value: int = 7,
    workers: int = 1,
    phases: str | None = PHASES,
) -> list[str]:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    argv = [
        executable,
        "--config-file",
        str(config),
        "run",
        f"{base_url}{OPENAPI_PATH}",
        "--url",
        base_url,  # the schema names no server: requests go where it was read from
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--generation-allow-x00",
        "true",
        "--max-examples",
        str(max_examples),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--no-color",
        "--warnings",
        "off",
    ]
    if phases:
        argv += ["--phases", phases]
    if max_time:  # a long run: fuzzing goes on until the time is spent
        argv += ["--max-time", str(max_time), "--seed", str(seed_value), "--generation-database", "none"]
    else:  # the same examples every time, and no example database in the work tree
        argv += ["--generation-deterministic"]
    return argv


def run_role(base_url: str, role: str, config: Path, *, timeout: float | None = None, **options) -> RoleRun:
    base_url = local_url(base_url)
    lifetime = timedelta(hours=11) if options.get("max_time") else timedelta(hours=1)
    argv = command(base_url, role_token(role, lifetime), config, **options)
    env = dict(os.environ, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    # this module is also schemathesis's hooks module: it registers refused_only_by_business_rules
    env["SCHEMATHESIS_HOOKS"] = __name__ if __name__ != "__main__" else "tests.e2e.fuzzing"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=config.parent)
    return RoleRun(role, done.returncode, time.monotonic() - started, done.stdout + done.stderr)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Fuzzing dell'API con schemathesis, un giro per ruolo (solo 127.0.0.1)"
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="gateway (solo 127.0.0.1)")
    parser.add_argument("--max-examples", type=int, default=500, help="esempi per operazione")
    parser.add_argument(
        "--max-time", type=int, default=None, help="secondi per ruolo: il fuzzing continua fino allo scadere"
    )
    parser.add_argument("--seed", type=int, default=7, help="seme (con --max-time)")
    # one: with more, schemathesis's threads parse lambdas' source at once, and CPython 3.11's ast
    # is not thread-safe ("AST constructor recursion depth mismatch", a run that errors out)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--role", action="append", choices=sorted(ROLE_CLAIMS), help="solo questo ruolo (ripetibile)"
    )
    args = parser.parse_args(argv)
    try:
        base_url = local_url(args.url)
    except ValueError as exc:
        parser.error(str(exc))
    failed = []
    with tempfile.TemporaryDirectory(prefix="combid-fuzz-") as work:
        seeds, document = seed(base_url), fetch_document(base_url)
        for role in args.role or ROLE_CLAIMS:
            config = write_config(Path(work), seeds, document, role)
            options = dict(max_examples=args.max_examples, max_time=args.max_time, seed_value=args.seed)
            result = run_role(base_url, role, config, workers=args.workers, **options)
            verdict = "ok" if result.passed else "ERRORI"
            print(f"==== {role}: {verdict} in {result.seconds:.0f} s\n{result.output}", flush=True)
            if not result.passed:
                failed.append(role)
    print(
        f"ruoli con errori: {', '.join(failed)}"
        if failed
        else "nessun errore: l'API fa ciò che il documento dice"
    )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
