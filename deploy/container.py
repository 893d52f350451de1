"""Container entrypoint: ``init`` prepares databases, queues and reference data; any
service name runs that service.

    python -m deploy.container init
    python -m deploy.container intake|routing|notify|reporting|agenda|gateway
"""

from __future__ import annotations

import os
import sys

SERVICES = ("intake", "routing", "notify", "reporting", "agenda", "gateway")


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(f"uso: python -m deploy.container init|{'|'.join(SERVICES)}")
    role = argv[0]
    if role == "init":
        from shared.migrations import SERVICES_WITH_DATABASE, upgrade
        from shared.queue_tools import declare_topology

        for service in SERVICES_WITH_DATABASE:
            upgrade(service)
        declare_topology(os.environ["AMQP_URI"])
        from services.routing.reference.command import main as reference_main

        reference_main(["load"])
        from services.agenda.reference.command import main as punti_main

        punti_main(["load"])
        from services.notify.offices import main as offices_main

        offices_main(["load"])
        return
    if role not in SERVICES:
        raise SystemExit(f"servizio sconosciuto: {role}")
    from deploy.local.stack import service_argv

    os.execv(sys.executable, service_argv(role))


if __name__ == "__main__":
    main(sys.argv[1:])
