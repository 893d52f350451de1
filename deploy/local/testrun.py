"""What `make test` runs: find or start what the test suite needs, run pytest, clean up.

- RabbitMQ and PostgreSQL: the machine's own services when they answer on their usual
  ports (addresses already in the environment take precedence).
- Object storage: SeaweedFS started here on spare ports unless S3_ENDPOINT is given.
- Where none of this is available and a Docker engine runs, the test harness falls back to
  testcontainers (see tests/harness.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.local.stack import Ports, port_open, start_seaweedfs, stop_pid
from shared.config import LOCAL_DEFAULTS, REPO_ROOT


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("COMBID_ENV", "development")  # development tokens and secret, for the tests only
    if "AMQP_URI" not in env and port_open("127.0.0.1", 5672):
        env["AMQP_URI"] = LOCAL_DEFAULTS["AMQP_URI"]
    if "POSTGRES_URL" not in env and port_open("127.0.0.1", 5432):
        env["POSTGRES_URL"] = "postgresql://postgres@127.0.0.1:5432/postgres"

    seaweed = None
    work = Path(tempfile.mkdtemp(prefix="combid-test-"))
    if "S3_ENDPOINT" not in env:
        test_ports = Ports.free_offset()
        print(f"avvio SeaweedFS per i test (S3 su 127.0.0.1:{test_ports.s3})...", flush=True)
        env.setdefault("S3_ACCESS_KEY", LOCAL_DEFAULTS["S3_ACCESS_KEY"])
        env.setdefault("S3_SECRET_KEY", LOCAL_DEFAULTS["S3_SECRET_KEY"])
        seaweed = start_seaweedfs(
            test_ports, work / "s3", work / "run", work / "log", env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"]
        )
        env["S3_ENDPOINT"] = f"127.0.0.1:{test_ports.s3}"
    try:
        return subprocess.call([sys.executable, "-m", "pytest", *argv], env=env, cwd=REPO_ROOT)
    finally:
        if seaweed is not None:
            stop_pid(seaweed.pid)
            seaweed.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
