"""Container entrypoint: ``init`` prepares databases, queues and reference data; any
service name runs that service.

    python -m deploy.container init             # migrate, then load-reference (compose)
    python -m deploy.container migrate          # every database's migrations, the broker's queues
    python -m deploy.container load-reference   # routing's tables, agenda's punti, notify's offices
    python -m deploy.container intake|routing|notify|reporting|agenda|gateway

``migrate`` and ``load-reference`` are the two Kubernetes Jobs (deploy/k8s/base/jobs.yaml);
each step can run again without harm (migrations stop at the head, declarations and loads
are idempotent).
"""

from __future__ import annotations

import os
import sys

SERVICES = ("intake", "routing", "notify", "reporting", "agenda", "gateway")
STEPS = ("init", "migrate", "load-reference")


def migrate() -> None:
    from shared.migrations import SERVICES_WITH_DATABASE, upgrade
    from shared.queue_tools import declare_topology

    for service in SERVICES_WITH_DATABASE:
        upgrade(service)
    declare_topology(os.environ["AMQP_URI"])


def load_reference() -> None:
    from services.agenda.reference.command import main as punti_main
    from services.notify.offices import main as offices_main
    from services.routing.reference.command import main as reference_main

    for what, load in (
        ("routing reference", reference_main),
        ("agenda punti", punti_main),
        ("notify offices", offices_main),
    ):
        code = load(["load"])
        if code:  # the Job fails, and says which load
            raise SystemExit(f"{what}: caricamento non riuscito (codice {code})")


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(f"uso: python -m deploy.container {'|'.join(STEPS + SERVICES)}")
    role = argv[0]
    if role in ("init", "migrate"):
        migrate()
    if role in ("init", "load-reference"):
        load_reference()
    if role in STEPS:
        return
    if role not in SERVICES:
        raise SystemExit(f"servizio sconosciuto: {role}")
    from deploy.local.stack import service_argv

    os.execv(sys.executable, service_argv(role))


if __name__ == "__main__":
    main(sys.argv[1:])
