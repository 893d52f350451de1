# temporary scratch (not collected by make test); removed after use
import pytest
from tests.e2e.fuzzing import ROLE_CLAIMS, run_role

@pytest.mark.parametrize("role", sorted(ROLE_CLAIMS))
def test_long(stack, role):
    result = run_role(stack.url, role, max_examples=100, seed=11, workers=2, max_time=None, timeout=1200)
    open(f"/tmp/fuzzlong-{role}.txt", "w").write(result.output)
    assert result.passed
