# temporary scratch (not collected by make test); removed after use
import subprocess
from datetime import timedelta
import pytest
from tests.e2e.fuzzing import ROLE_CLAIMS, command, role_token

@pytest.mark.parametrize("role", ["patronato_operatore", "sede_operatore"])
def test_har(stack, role):
    argv = command(stack.url, role_token(role, timedelta(hours=1)), max_examples=30, seed=3, max_time=None, workers=2)
    argv += ["--report", "har", "--report-har-path", f"/tmp/fuzz-{role}.har"]
    done = subprocess.run(argv, capture_output=True, text=True)
    open(f"/tmp/fuzzhar-{role}.txt", "w").write(done.stdout + done.stderr)
