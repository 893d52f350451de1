import subprocess
import sys
from datetime import timedelta

import jwt
import pytest

from gateway.auth import InsecureConfiguration, TokenSettings, caller_from_header, issue_token
from shared.access import Caller
from shared.config import LOCAL_DEFAULTS, REPO_ROOT
from shared.errors import Forbidden, Unauthorized

SECRET = "test-secret-that-is-long-enough-for-hs256"
SETTINGS = TokenSettings(secret=SECRET)


def bearer(token):
    return f"Bearer {token}"


def test_claims_become_the_caller():
    token = issue_token(
        SECRET, sub="u1", role="patronato_operatore", patronato="001", ufficio="0001", name="Ada"
    )
    caller = caller_from_header(bearer(token), SETTINGS)
    assert caller == Caller(sub="u1", name="Ada", role="patronato_operatore", patronato="001", ufficio="0001")


@pytest.mark.parametrize(
    "header, code",
    [
        (None, "missing_token"),
        ("Basic abc", "missing_token"),
        ("Bearer not-a-jwt", "invalid_token"),
        ("Bearer " + "a" * 10000, "invalid_token"),
    ],
)
def test_bad_headers_are_unauthorized(header, code):
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(header, SETTINGS)
    assert refused.value.code == code


def test_expired_token():
    token = issue_token(SECRET, sub="u1", role="azienda", lifetime=timedelta(seconds=-60))
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(bearer(token), SETTINGS)
    assert refused.value.code == "token_expired"


def test_token_without_exp_is_refused():
    token = jwt.encode({"sub": "u1", "role": "azienda"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(bearer(token), SETTINGS)
    assert refused.value.code == "invalid_token"


def test_token_signed_with_another_secret_is_refused():
    token = issue_token("another-secret-that-is-long-enough-too", sub="u1", role="azienda")
    with pytest.raises(Unauthorized):
        caller_from_header(bearer(token), SETTINGS)


def test_unknown_role_is_forbidden():
    token = issue_token(SECRET, sub="u1", role="hacker")
    with pytest.raises(Forbidden):
        caller_from_header(bearer(token), SETTINGS)


def test_malformed_scope_claims_are_unauthorized():
    token = issue_token(SECRET, sub="u1", role="sede_operatore", sede="0704", groups="APP_FEA_COMBID")
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(bearer(token), SETTINGS)
    assert refused.value.code == "invalid_claims" and refused.value.extra["claims"] == ["groups"]


def test_no_token_lives_longer_than_the_maximum():
    long_lived = issue_token(SECRET, sub="u1", role="azienda", lifetime=timedelta(hours=13))
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(bearer(long_lived), SETTINGS)
    assert refused.value.code == "token_lifetime_too_long"
    without_iat = jwt.encode({"sub": "u1", "role": "azienda", "exp": 4102444800}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        caller_from_header(bearer(without_iat), SETTINGS)
    short = TokenSettings(secret=SECRET, max_lifetime=timedelta(hours=1))
    with pytest.raises(Unauthorized):
        caller_from_header(
            bearer(issue_token(SECRET, sub="u1", role="azienda", lifetime=timedelta(hours=2))), short
        )


def test_issuer_and_audience_when_configured():
    settings = TokenSettings(secret=SECRET, issuer="https://idp.inps.example", audience="combid")
    good = issue_token(SECRET, sub="u1", role="azienda", iss="https://idp.inps.example", aud="combid")
    assert caller_from_header(bearer(good), settings).sub == "u1"
    for claims in (
        {"iss": "https://other.example", "aud": "combid"},
        {"iss": "https://idp.inps.example", "aud": "x"},
        {},
    ):
        with pytest.raises(Unauthorized):
            caller_from_header(bearer(issue_token(SECRET, sub="u1", role="azienda", **claims)), settings)


@pytest.mark.parametrize(
    "values, problem",
    [
        ({"COMBID_ENV": "production"}, "non impostato"),
        ({"COMBID_ENV": None, "JWT_SECRET": None}, "non impostato"),
        ({"JWT_SECRET": "x" * 17}, "troppo corto"),
        ({"JWT_SECRET": LOCAL_DEFAULTS["JWT_SECRET"]}, "segreto di sviluppo"),
    ],
)
def test_outside_development_the_gateway_needs_a_strong_secret(values, problem):
    with pytest.raises(InsecureConfiguration, match=problem):
        TokenSettings.from_config(values)


def test_settings_in_development_and_production():
    assert TokenSettings.from_config({"COMBID_ENV": "development"}).secret == LOCAL_DEFAULTS["JWT_SECRET"]
    production = TokenSettings.from_config(
        {"JWT_SECRET": "s" * 32, "JWT_ISSUER": "idp", "JWT_MAX_LIFETIME_HOURS": "2"}
    )
    assert (production.secret, production.issuer, production.max_lifetime) == (
        "s" * 32,
        "idp",
        timedelta(hours=2),
    )


def devtoken(env_value):
    env = {"PATH": "/usr/bin:/bin", "COMBID_ENV": env_value} if env_value else {"PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "gateway.devtoken", "--role", "azienda", "--matricole", "7012345678"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
    )


def test_devtoken_runs_only_in_development():
    refused = devtoken(None)
    assert refused.returncode == 2 and "COMBID_ENV=development" in refused.stderr and not refused.stdout
    issued = devtoken("development")
    assert issued.returncode == 0
    assert caller_from_header(
        bearer(issued.stdout.strip()), TokenSettings(secret=LOCAL_DEFAULTS["JWT_SECRET"])
    ).matricole == ("7012345678",)
