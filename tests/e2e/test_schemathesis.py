"""No input makes the gateway answer 5xx: schemathesis generates requests for every
operation of the OpenAPI document (NUL characters allowed), once with a token of each
role, and checks only that no answer is a server error. A short, deterministic run; the
long one is ``python -m tests.e2e.fuzzing`` (README, "API fuzzing")."""
from __future__ import annotations

import pytest

from tests.e2e.fuzzing import ROLE_CLAIMS, run_role

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 10  # per operation and role


@pytest.mark.parametrize("role", sorted(ROLE_CLAIMS))
def test_no_server_error_for_any_generated_request(stack, role, tmp_path):
    result = run_role(stack.url, role, max_examples=MAX_EXAMPLES, timeout=240)
    (tmp_path / "schemathesis.txt").write_text(result.output)

    assert result.passed, result.output[-20000:]
