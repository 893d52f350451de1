"""No input makes the gateway answer 5xx: schemathesis generates requests for every
operation of the OpenAPI document (NUL characters allowed), once with a token of each
role, and checks only that no answer is a server error. A short, deterministic run; the
long one is ``python -m tests.e2e.fuzzing`` (README, "API fuzzing")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.fuzzing import ROLE_CLAIMS, RoleRun, run_role, seed, write_config

# the module's fixture runs every role: bounded by ROLE_TIMEOUT_SECONDS per role, not by the default 300 s
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

MAX_EXAMPLES = 10  # per operation and role, in the fuzzing phase
PHASES = "coverage,fuzzing"  # the document has no links: a stateful phase would add time, not cases
# the generator is CPU-bound as much as the services: four roles at once halve the wall time on 2 cores
PARALLEL_ROLES = 4
ROLE_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def fuzzed(stack, tmp_path_factory) -> dict[str, RoleRun]:
    config = write_config(tmp_path_factory.mktemp("schemathesis"), seed(stack.url))

    def fuzz(role: str) -> RoleRun:
        return run_role(
            stack.url, role, config, max_examples=MAX_EXAMPLES, phases=PHASES, timeout=ROLE_TIMEOUT_SECONDS
        )

    with ThreadPoolExecutor(PARALLEL_ROLES) as pool:
        return {run.role: run for run in pool.map(fuzz, sorted(ROLE_CLAIMS))}


@pytest.mark.parametrize("role", sorted(ROLE_CLAIMS))
def test_no_server_error_for_any_generated_request(fuzzed, role):
    result = fuzzed[role]

    assert result.passed, result.output[-20000:]
