"""The API does what its OpenAPI document says, for every role: schemathesis runs every
phase (examples, coverage, fuzzing, stateful along the document's links) against
``/api/v1/openapi.json`` with a token of each role (NUL characters allowed) and checks that
no answer is a server error, every answer matches its declared schema, what the document
forbids is refused and what it allows is accepted or refused only by a business rule the
operation lists (``tests.e2e.fuzzing``). A short, deterministic run; the long one is
``python -m tests.e2e.fuzzing`` (README, "API fuzzing")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.fuzzing import PHASES, ROLE_CLAIMS, RoleRun, fetch_document, run_role, seed, write_config

# the module's fixture runs every role: bounded by ROLE_TIMEOUT_SECONDS per role, not by the default 300 s
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1100)]

MAX_EXAMPLES = 4  # per operation and role, in the fuzzing phase (coverage: every case the schema defines)
STATEFUL_SCENARIOS = 12  # per role: a scenario is a few calls along the links, cheap next to the fuzzing
# the generator is CPU-bound as much as the services: four roles at once halve the wall time on 2 cores
PARALLEL_ROLES = 4
ROLE_TIMEOUT_SECONDS = 480  # a loaded 2-core machine; a quiet one needs about a third


@pytest.fixture(scope="module")
def fuzzed(stack, tmp_path_factory) -> dict[str, RoleRun]:
    work = tmp_path_factory.mktemp("schemathesis")
    seeds, document = seed(stack.url), fetch_document(stack.url)

    def fuzz(role: str) -> RoleRun:
        config = write_config(work, seeds, document, role, stateful_scenarios=STATEFUL_SCENARIOS)
        return run_role(
            stack.url, role, config, max_examples=MAX_EXAMPLES, phases=PHASES, timeout=ROLE_TIMEOUT_SECONDS
        )

    with ThreadPoolExecutor(PARALLEL_ROLES) as pool:
        return {run.role: run for run in pool.map(fuzz, sorted(ROLE_CLAIMS))}


@pytest.mark.parametrize("role", sorted(ROLE_CLAIMS))
def test_the_api_does_what_its_document_says(fuzzed, role):
    result = fuzzed[role]

    assert result.passed, result.output[-20000:]
