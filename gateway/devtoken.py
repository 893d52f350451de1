"""Development token command — for local runs only, never in production.

    python -m gateway.devtoken --role patronato_operatore --patronato 001 --ufficio 0001
    python -m gateway.devtoken --role sede_operatore --sede 0701 --groups APP_FEA_COMBID

It signs with JWT_SECRET (the local default if unset) and prints the token alone, so that
``TOKEN=$(python -m gateway.devtoken ...)`` works. It runs only with COMBID_ENV=development
(``make run`` and ``make test`` set it): anywhere else it refuses, and says why.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

from gateway.auth import DEFAULT_MAX_LIFETIME, issue_token
from shared.access import NATIONAL_SCOPE, ROLES
from shared.config import LOCAL_DEFAULTS, is_development


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Stampa un token JWT di sviluppo (solo uso locale)")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--sub", default=None, help="identificativo dell'utente (default: dev-<ruolo>)")
    parser.add_argument("--name", default="Utente di sviluppo")
    parser.add_argument("--email", default=None)
    parser.add_argument("--codice-fiscale", dest="codice_fiscale", default=None)
    parser.add_argument("--matricole", default=None, help="elenco separato da virgole")
    parser.add_argument("--patronato", default=None, help="codice ente del patronato")
    parser.add_argument("--ufficio", default=None, help="codice ufficio del patronato")
    parser.add_argument("--sede", default=None, help="codice sede (4 cifre)")
    parser.add_argument("--regione", default=None)
    parser.add_argument(
        "--scope", default=None, choices=[NATIONAL_SCOPE], help="national: direttore centrale"
    )
    parser.add_argument("--groups", default=None, help="elenco separato da virgole, es. APP_FEA_COMBID")
    parser.add_argument(
        "--aree", default=None, help="code di lavoro dell'operatore nella sede, es. pensioni,sostegno_reddito"
    )
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args(argv)
    if not is_development():
        print(
            "gateway.devtoken funziona solo in sviluppo (COMBID_ENV=development): "
            "fuori dallo sviluppo i token li rilascia il sistema di identità.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    max_hours = DEFAULT_MAX_LIFETIME.total_seconds() / 3600
    if not 0 < args.hours <= max_hours:
        parser.error(f"--hours deve essere tra 0 e {max_hours:g}")

    secret = os.environ.get("JWT_SECRET", LOCAL_DEFAULTS["JWT_SECRET"])
    split = lambda text: [item.strip() for item in text.split(",") if item.strip()] if text else None  # noqa: E731
    token = issue_token(
        secret,
        sub=args.sub or f"dev-{args.role}",
        role=args.role,
        lifetime=timedelta(hours=args.hours),
        name=args.name,
        email=args.email,
        codice_fiscale=args.codice_fiscale,
        matricole=split(args.matricole),
        patronato=args.patronato,
        ufficio=args.ufficio,
        sede=args.sede,
        regione=args.regione,
        scope=args.scope,
        groups=split(args.groups),
        aree=split(args.aree),
    )
    print(token)


if __name__ == "__main__":
    main()
