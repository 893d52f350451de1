from datetime import timedelta

import jwt
import pytest

from gateway.auth import caller_from_header, issue_token
from shared.errors import Forbidden, Unauthorized

SECRET = "test-secret-that-is-long-enough-for-hs256"


def bearer(token):
    return f"Bearer {token}"


def test_claims_become_the_caller():
    token = issue_token(SECRET, sub="u1", role="patronato_operatore", patronato="001", ufficio="0001", name="Ada")
    caller = caller_from_header(bearer(token), SECRET)
    assert caller == {"sub": "u1", "name": "Ada", "email": None, "role": "patronato_operatore", "patronato": "001", "ufficio": "0001"}


@pytest.mark.parametrize(
    "header, code",
    [
        (None, "missing_token"),
        ("Basic abc", "missing_token"),
        ("Bearer not-a-jwt", "invalid_token"),
    ],
)
def test_bad_headers_are_unauthorized(header, code):
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(header, SECRET)
    assert refused.value.code == code


def test_expired_token():
    token = issue_token(SECRET, sub="u1", role="azienda", lifetime=timedelta(seconds=-5))
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(bearer(token), SECRET)
    assert refused.value.code == "token_expired"


def test_token_without_exp_is_refused():
    token = jwt.encode({"sub": "u1", "role": "azienda"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized) as refused:
        caller_from_header(bearer(token), SECRET)
    assert refused.value.code == "invalid_token"


def test_token_signed_with_another_secret_is_refused():
    token = issue_token("another-secret-that-is-long-enough-too", sub="u1", role="azienda")
    with pytest.raises(Unauthorized):
        caller_from_header(bearer(token), SECRET)


def test_unknown_role_is_forbidden():
    token = issue_token(SECRET, sub="u1", role="hacker")
    with pytest.raises(Forbidden):
        caller_from_header(bearer(token), SECRET)
