"""Container health check: exit 0 if the service answers, 1 otherwise (one line says why).

    python -m deploy.healthcheck gateway      # GET /health on the gateway's own address
    python -m deploy.healthcheck intake       # the service's `health` RPC (database, storage)

A service's RPC goes through the broker to any instance of that service, so with several
replicas it tells whether the service works, not which replica; a replica whose process
has died is restarted by the container's restart policy anyway.
"""

from __future__ import annotations

import os
import sys
import urllib.request
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

SERVICES = ("intake", "routing", "notify", "reporting", "agenda", "gateway")
TIMEOUT_SECONDS = 5.0


def check_gateway(timeout: float = TIMEOUT_SECONDS) -> None:
    address = os.environ.get("GATEWAY_ADDRESS", "127.0.0.1:8000")
    host, _, port = address.rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=timeout) as response:
        if response.status != 200:
            raise RuntimeError(f"/health answered {response.status}")


def check_service(service: str, timeout: float = TIMEOUT_SECONDS) -> None:
    from nameko.standalone.rpc import ClusterRpcClient

    uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    # the request expires on the broker too: a check nobody waits for is never run
    with ClusterRpcClient(timeout=timeout, uri=uri, expiration=int(timeout)) as client:
        getattr(client, service).health()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"uso: python -m deploy.healthcheck {'|'.join(SERVICES)}", file=sys.stderr)
        return 2
    service = argv[0]
    try:
        check_gateway() if service == "gateway" else check_service(service)
    except Exception as exc:
        print(f"{service}: failing ({exc.__class__.__name__}: {str(exc)[:200]})")
        return 1
    print(f"{service}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
