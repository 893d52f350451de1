"""Fill reporting's read model with made-up requests, then rebuild the aggregates: for
benchmarks and demos, never for a database that receives real events.

    python -m services.reporting.generate --requests 2000000 --year 2026 [--database-url URL]
        [--today 2026-12-31] [--seed 2614] [--appointments 100000]

The mix resembles the national traffic (HERMES msg 2614/2018: about two million quesiti a
year): 20 regions with one direzione provinciale per province (codes as routing's sample:
``RR00`` the direzione regionale, ``RR01``… the provinces), subjects with their thresholds,
cassetto ~75 %, patronato ~20 %, fax ~5 %; submissions on working days of the year up to
``today``; closing times spread around each threshold (most within, a tail late), requests of
the last weeks still open, some very old ones forgotten; 0.5 % in triage, 2 % with a change of
subject. Rows are written with COPY in chunks, then ``aggregates.rebuild`` counts them.

Appointments (Customer Care; default one per 20 requests) are booked on working days at the
same sedi, 0 to about 30 days ahead (most within a week or two), in the morning; those whose
slot has passed mostly held, some no-shows and cancellations, a few never given an outcome.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import sessionmaker

from services.reporting import aggregates
from shared.clock import ROME, SystemClock, rome_date
from shared.db import make_engine
from shared.migrations import database_url

# (region, provinces): one direzione provinciale per province, as routing's sample
REGIONS = (
    ("Abruzzo", 4),
    ("Basilicata", 2),
    ("Calabria", 5),
    ("Campania", 5),
    ("Emilia-Romagna", 9),
    ("Friuli-Venezia Giulia", 4),
    ("Lazio", 5),
    ("Liguria", 4),
    ("Lombardia", 12),
    ("Marche", 5),
    ("Molise", 2),
    ("Piemonte", 8),
    ("Puglia", 6),
    ("Sardegna", 5),
    ("Sicilia", 9),
    ("Toscana", 10),
    ("Trentino-Alto Adige", 2),
    ("Umbria", 2),
    ("Valle d'Aosta", 1),
    ("Veneto", 7),
)
# (subject, threshold days, share of the traffic)
SUBJECTS = (
    ("regolarita_contributiva", 5, 0.20),
    ("f24", 10, 0.18),
    ("dm_uniemens", 15, 0.17),
    ("generico_informativo", 10, 0.15),
    ("chiarimento_normativo", 25, 0.05),
    ("requisiti_accesso", 10, 0.08),
    ("sollecito_domanda", 15, 0.08),
    ("prestazione_in_corso_o_respinta", 15, 0.06),
    ("informazioni_pagamenti", 25, 0.03),
)
ORIGINS = (("cassetto", 0.75), ("patronato", 0.20), ("fax", 0.05))
CHUNK = 50_000
COLUMNS = (
    "request_id",
    "protocol",
    "subject",
    "catalog_version",
    "origin",
    "channel",
    "sla_days",
    "area",
    "assignment_kind",
    "sede_code",
    "sede_name",
    "region",
    "state",
    "submitted_at",
    "routed_at",
    "closed_at",
    "outcome",
    "subject_changed_at",
    "last_event_at",
)


def sedi() -> list[tuple[str, str, str]]:
    """(code, name, region) of every direzione provinciale, weighted later by province size."""
    found = []
    for index, (region, provinces) in enumerate(REGIONS, start=1):
        for province in range(1, provinces + 1):
            found.append((f"{index:02d}{province:02d}", f"Direzione provinciale {region} {province}", region))
    return found


def working_days(year: int, today: date) -> list[date]:
    day, last = date(year, 1, 1), min(date(year, 12, 31), today)
    days = []
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def closing_delay(rng: random.Random, sla_days: int) -> int:
    """Days to close: most within the threshold, a tail beyond it."""
    if rng.random() < 0.82:
        return min(sla_days, int(rng.triangular(0, sla_days + 1, sla_days * 0.4)))
    return sla_days + 1 + int(rng.expovariate(1 / max(3, sla_days * 0.6)))


def rows(count: int, year: int, today: date, rng: random.Random):
    """The made-up requests, one dict per row of ``request_facts`` (and their changes)."""
    places = sedi()
    weights = [1 + (index * 7919) % 5 for index in range(len(places))]  # sedi of different sizes
    subjects, shares = [s[:2] for s in SUBJECTS], [s[2] for s in SUBJECTS]
    origins, origin_shares = [o[0] for o in ORIGINS], [o[1] for o in ORIGINS]
    days = working_days(year, today)
    for number in range(count):
        day = days[rng.randrange(len(days))]
        submitted = datetime(day.year, day.month, day.day, 8, 0, tzinfo=ROME) + timedelta(
            seconds=rng.randrange(10 * 3600)
        )
        submitted = submitted.astimezone(UTC)
        subject, sla_days = rng.choices(subjects, shares)[0]
        origin = rng.choices(origins, origin_shares)[0]
        change = None
        if rng.random() < 0.02:
            old = subject
            subject, sla_days = rng.choice([s for s in subjects if s[0] != old])
            change = (old, submitted + timedelta(days=rng.randrange(0, 3), hours=1))
        triage = rng.random() < 0.005
        code, name, region = (
            ("TRIAGE", "Coda di smistamento", None) if triage else rng.choices(places, weights)[0]
        )
        delay = closing_delay(rng, sla_days)
        age = (today - day).days
        forgotten = rng.random() < 0.002
        closed_at = None
        if delay <= age and not forgotten:
            closed_at = submitted + timedelta(days=delay, hours=rng.randrange(0, 6))
            if rome_date(closed_at) > today:
                closed_at = None
        fact = {
            "request_id": uuid.UUID(int=rng.getrandbits(128)),
            "protocol": f"COMBID.{year}.{number + 1:08d}",
            "subject": subject,
            "catalog_version": "generato",
            "origin": origin,
            "channel": "combipat" if origin == "patronato" else "cassetto",
            "sla_days": sla_days,
            "area": "generato",
            "assignment_kind": "triage" if triage else "sede",
            "sede_code": code,
            "sede_name": name,
            "region": region,
            "state": "closed" if closed_at else ("in_progress" if rng.random() < 0.5 else "open"),
            "submitted_at": submitted,
            "routed_at": submitted + timedelta(seconds=2),
            "closed_at": closed_at,
            "outcome": "Definita" if closed_at else None,
            "subject_changed_at": change[1] if change else None,
            "last_event_at": closed_at or submitted,
        }
        yield fact, change


APPOINTMENT_COLUMNS = (
    "booking_id",
    "sede",
    "region",
    "modality",
    "topic",
    "slot_start",
    "slot_day",
    "state",
    "updated_at",
    "booked_at",
    "booked_day",
)
MODALITIES = (("in_person", 0.5), ("phone", 0.3), ("web_meeting", 0.2))
PAST_ENDINGS = (
    ("held", 0.75),
    ("no_show", 0.1),
    ("cancelled_by_requester", 0.1),
    ("cancelled_by_office", 0.03),
    ("confirmed", 0.02),  # the outcome never recorded
)
FUTURE_ENDINGS = (("confirmed", 0.9), ("cancelled_by_requester", 0.08), ("cancelled_by_office", 0.02))


def appointment_rows(count: int, year: int, today: date, rng: random.Random):
    """Made-up bookings, one list per row of ``appointment_facts`` (APPOINTMENT_COLUMNS)."""
    places = sedi()
    weights = [1 + (index * 7919) % 5 for index in range(len(places))]
    modalities, modality_shares = [m[0] for m in MODALITIES], [m[1] for m in MODALITIES]
    days = working_days(year, today)
    for _ in range(count):
        booked_day = days[rng.randrange(len(days))]
        booked_at = datetime(booked_day.year, booked_day.month, booked_day.day, 9, tzinfo=ROME) + timedelta(
            seconds=rng.randrange(9 * 3600)
        )
        slot_day = booked_day + timedelta(days=1 + int(rng.triangular(0, 30, 5)))
        while slot_day.weekday() >= 5:
            slot_day += timedelta(days=1)
        slot_start = datetime(slot_day.year, slot_day.month, slot_day.day, 9, tzinfo=ROME) + timedelta(
            minutes=30 * rng.randrange(8)
        )
        endings = PAST_ENDINGS if slot_day < today else FUTURE_ENDINGS
        state = rng.choices([e[0] for e in endings], [e[1] for e in endings])[0]
        code, _, region = rng.choices(places, weights)[0]
        yield [
            uuid.UUID(int=rng.getrandbits(128)),
            code,
            region,
            rng.choices(modalities, modality_shares)[0],
            "consulenza",
            slot_start.astimezone(UTC),
            slot_day,
            state,
            booked_at.astimezone(UTC),
            booked_at.astimezone(UTC),
            booked_day,
        ]


def _copy(cursor, table: str, columns, records) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for record in records:
        writer.writerow(["" if value is None else value for value in record])
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '')", buffer)


def generate(
    url: str,
    count: int,
    year: int,
    today: date,
    seed: int = 2614,
    progress=print,
    appointments: int | None = None,
) -> dict:
    appointments = count // 20 if appointments is None else appointments
    rng = random.Random(seed)
    engine = make_engine(url, pool_size=1)
    started = time.perf_counter()
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(
                "INSERT INTO sedi (code, name, region, kind, decided_at) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[]) "
                "ON CONFLICT (code) DO NOTHING",
                [
                    [code for code, _, _ in sedi()],
                    [name for _, name, _ in sedi()],
                    [region for _, _, region in sedi()],
                    ["sede"] * len(sedi()),
                    [datetime(year, 1, 1, tzinfo=UTC)] * len(sedi()),
                ],
            )
            facts, changes, written = [], [], 0
            for fact, change in rows(count, year, today, rng):
                facts.append([fact[name] for name in COLUMNS])
                if change:
                    changes.append(
                        [fact["request_id"], change[1], change[0], fact["subject"], fact["sla_days"]]
                    )
                if len(facts) >= CHUNK:
                    _copy(cursor, "request_facts", COLUMNS, facts)
                    connection.commit()
                    written += len(facts)
                    facts = []
                    if written % (CHUNK * 10) == 0:
                        progress(f"  {written:,} richieste ({time.perf_counter() - started:.0f} s)")
            _copy(cursor, "request_facts", COLUMNS, facts)
            _copy(
                cursor,
                "subject_changes",
                ("request_id", "changed_at", "from_subject", "to_subject", "to_sla_days"),
                changes,
            )
            connection.commit()
            bookings = list(appointment_rows(appointments, year, today, rng))
            for start in range(0, len(bookings), CHUNK):
                _copy(cursor, "appointment_facts", APPOINTMENT_COLUMNS, bookings[start : start + CHUNK])
            connection.commit()
            cursor.execute("ANALYZE request_facts")
            cursor.execute("ANALYZE appointment_facts")
            connection.commit()
        finally:
            connection.close()
        loaded = time.perf_counter() - started
        with sessionmaker(engine).begin() as session:
            counted = aggregates.rebuild(session)
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE daily_request_counts")
            connection.exec_driver_sql("ANALYZE monthly_request_counts")
            connection.exec_driver_sql("ANALYZE subject_change_counts")
            connection.commit()
    finally:
        engine.dispose()
    return {
        "requests": count,
        "changes": len(changes),
        "appointments": appointments,
        "load_seconds": round(loaded, 1),
        "rebuild_seconds": round(time.perf_counter() - started - loaded, 1),
        **counted,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.reporting.generate", description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--year", type=int, default=rome_date(SystemClock().now()).year)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="AAAA-MM-GG (default: oggi)")
    parser.add_argument("--seed", type=int, default=2614)
    parser.add_argument("--appointments", type=int, default=None, help="default: una ogni 20 richieste")
    parser.add_argument("--database-url", default=database_url("reporting"))
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 10_000_000:
        parser.error("--requests: da 1 a 10.000.000")
    today = args.today or rome_date(SystemClock().now())
    if today.year < args.year:
        today = date(args.year, 12, 31)
    if args.appointments is not None and not 0 <= args.appointments <= 10_000_000:
        parser.error("--appointments: da 0 a 10.000.000")
    result = generate(
        args.database_url, args.requests, args.year, today, args.seed, appointments=args.appointments
    )
    print(
        f"{result['requests']:,} richieste ({result['changes']:,} cambi di oggetto) e "
        f"{result['appointments']:,} appuntamenti scritti in "
        f"{result['load_seconds']} s; aggregati in {result['rebuild_seconds']} s: "
        f"{result['daily_request_counts']:,} righe giornaliere, {result['monthly_request_counts']:,} "
        f"mensili, {result['subject_change_counts']:,} di cambi"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
