"""Fill intake's ``requests`` table with made-up requests, quickly (COPY): for benchmarks and
demos, never for a database that serves real traffic.

    .venv/bin/python bench/gen_requests.py --database-url postgresql://…/combid_bench_x \
        [--requests 1000000] [--seed 13]

The database must be migrated (``python -m shared.migrations intake``) and its ``requests``
table empty. The mix resembles the national traffic over the last twelve months: the sedi,
regions and subjects of the reporting generator (``services.reporting.generate``), about 70 %
cassetto (companies and their consulenti, a few with many requests, most with one or two),
22 % patronato (operatori for citizens, with a valid codice fiscale and a CAP; referenti to
their region's CRIC), the rest faxes, schede Linea INPS and the sedi's own messages; more
traffic at the F24 and UniEmens deadlines (the 16th, the end of the month); states from the
age of the request and its subject's threshold; 0.5 % in triage. Secondary indexes are
dropped for the load and built again after it (much faster than maintaining them row by row).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import string
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from stdnum.it import codicefiscale  # noqa: E402

from services.reporting.generate import closing_delay, sedi  # noqa: E402
from shared.clock import ROME, SystemClock, rome_date  # noqa: E402

CHUNK = 50_000
COMPANIES, CONSULENTI, CITIZENS = 200_000, 25_000, 300_000
PATRONATI = ("INCA", "INAS", "ACLI", "ITAL", "EPACA", "INAPA", "ENAPA", "ANMIL", "ENCAL", "SIAS")
# (origin, share)
ORIGINS = (
    ("cassetto", 0.70),
    ("patronato", 0.22),
    ("fax", 0.04),
    ("linea_inps", 0.015),
    ("sede", 0.02),
    ("contact_center", 0.005),
)
# (catalog version, subject, area, sla days, share within the channel)
CASSETTO = (
    ("cassetto-2026", "regolarita_contributiva", "soggetto_contribuente", 5, 0.22),
    ("cassetto-2026", "f24", "soggetto_contribuente", 25, 0.18),
    ("cassetto-2026", "dm_uniemens", "soggetto_contribuente", 15, 0.18),
    ("cassetto-2026", "generico_informativo", "soggetto_contribuente", 10, 0.15),
    ("cassetto-2026", "rateazioni", "soggetto_contribuente", 15, 0.08),
    ("cassetto-2026", "agevolazioni_sgravi", "soggetto_contribuente", 15, 0.06),
    ("cassetto-2026", "ammortizzatori_sociali", "sostegno_reddito", 10, 0.06),
    ("cassetto-2026", "note_rettifica", "soggetto_contribuente", 15, 0.04),
    ("cassetto-2026", "iscrizione_variazioni", "soggetto_contribuente", 10, 0.03),
)
OPERATORE = (
    ("combipat-2021", "sollecito_domanda", "pensioni", 10, 0.45),
    ("combipat-2021", "prestazione_in_corso_o_respinta", "sostegno_reddito", 15, 0.30),
    ("combipat-2021", "requisiti_accesso", "informazioni", 10, 0.25),
)
REFERENTE = (
    ("combipat-2021", "chiarimento_normativo", "normativa", 25, 0.8),
    ("combipat-2021", "requisiti_accesso", "informazioni", 10, 0.2),
)
CRIC_SECTIONS = ("pensioni", "sostegno_reddito", "soggetto_contribuente")
COLUMNS = (
    "id",
    "protocol",
    "origin",
    "channel",
    "profile",
    "subject_code",
    "catalog_version",
    "area",
    "cric_section",
    "sla_days",
    "text",
    "case_identifier",
    "citizen_codice_fiscale",
    "citizen_cap",
    "matricola",
    "patronato_ente",
    "patronato_ufficio",
    "contacts",
    "requester_sub",
    "requester_name",
    "requester_role",
    "consulente_codice_fiscale",
    "state",
    "assignment",
    "assigned_sede",
    "assigned_region",
    "assigned_queue",
    "assigned_kind",
    "routed_at",
    "first_answer_at",
    "answers_count",
    "outcome",
    "closed_at",
    "created_at",
    "updated_at",
)
TEXTS = (
    "Si chiede lo stato della pratica e i tempi previsti di definizione.",
    "Si segnala una discordanza tra i versamenti F24 e l'estratto del cassetto.",
    "Richiesta di chiarimenti sulla denuncia UniEmens del mese indicato.",
    "Si chiede la verifica della regolarità contributiva ai fini del DURC.",
)


def person_codice_fiscale(rng: random.Random) -> str:
    """A well-formed codice fiscale of a person (check character computed by python-stdnum)."""
    letters = "".join(rng.choices(string.ascii_uppercase, k=6))
    day = rng.randrange(1, 29) + (40 if rng.random() < 0.5 else 0)
    body = (
        f"{letters}{rng.randrange(40, 100):02d}{rng.choice('ABCDEHLMPRST')}{day:02d}"
        f"{rng.choice('ABCDEFGHILM')}{rng.randrange(1, 1000):03d}"
    )
    return body + codicefiscale.calc_check_digit(body)


def traffic_days(today: date) -> tuple[list[date], list[float]]:
    """The working days of the last twelve months, with the deadline days weighing double."""
    days, weights, day = [], [], today - timedelta(days=365)
    while day <= today:
        if day.weekday() < 5:
            days.append(day)
            weights.append(2.0 if day.day in (14, 15, 16) or day.day >= 27 else 1.0)
        day += timedelta(days=1)
    return days, weights


class Population:
    """Who writes: companies (matricole at a sede, some with a consulente), consulenti,
    citizens; and where: the sedi and the CRIC of each region."""

    def __init__(self, rng: random.Random):
        self.sedi = sedi()
        self.sede_weights = [1 + (index * 7919) % 5 for index in range(len(self.sedi))]
        regions = sorted({region for _, _, region in self.sedi})
        self.cric = {region: (f"{index + 1:02d}00", f"CRIC {region}") for index, region in enumerate(regions)}
        self.consulenti = [person_codice_fiscale(rng) for _ in range(CONSULENTI)]
        self.citizens = [person_codice_fiscale(rng) for _ in range(CITIZENS)]
        self.companies = []
        for number in range(COMPANIES):
            place = rng.choices(self.sedi, self.sede_weights)[0]
            matricola = f"{place[0][:2]}{number:06d}{rng.randrange(100):02d}"
            consulente = rng.choice(self.consulenti) if rng.random() < 0.65 else None
            self.companies.append((matricola, place, consulente))

    def company(self, rng: random.Random):
        # a few companies write very often, most once or twice a year
        return self.companies[int(COMPANIES * rng.random() ** 2)]

    def citizen(self, rng: random.Random) -> str:
        return self.citizens[int(CITIZENS * rng.random() ** 1.5)]


def pick(rng: random.Random, table):
    return rng.choices(table, [row[-1] for row in table])[0][:4]


def rows(count: int, today: date, rng: random.Random, people: Population):
    """One list of ``COLUMNS`` values per made-up request."""
    days, day_weights = traffic_days(today)
    origins, origin_shares = [o for o, _ in ORIGINS], [s for _, s in ORIGINS]
    year = today.year
    # in the order they arrive, as the table fills in real life (rows of a month lie together)
    for number, day in enumerate(sorted(rng.choices(days, day_weights, k=count))):
        submitted = (
            datetime(day.year, day.month, day.day, 8, 0, tzinfo=ROME)
            + timedelta(seconds=rng.randrange(36000))
        ).astimezone(UTC)
        origin = rng.choices(origins, origin_shares)[0]
        place = rng.choices(people.sedi, people.sede_weights)[0]
        row = dict.fromkeys(COLUMNS)
        row.update(origin=origin, contacts="{}", text=rng.choice(TEXTS), answers_count=0)
        kind, queue, section = "sede", None, None
        if origin in ("cassetto", "fax", "sede"):
            matricola, place, consulente = people.company(rng)
            version, subject, area, sla = pick(rng, CASSETTO)
            through_consulente = consulente is not None and rng.random() < 0.8
            row.update(
                channel="cassetto",
                profile="intermediario" if through_consulente else "azienda",
                matricola=matricola,
                consulente_codice_fiscale=consulente if through_consulente else None,
                requester_sub=consulente if through_consulente else f"az-{matricola}",
                requester_name="Studio di consulenza" if through_consulente else f"Azienda {matricola}",
                requester_role="intermediario" if through_consulente else "azienda",
            )
            if origin == "fax":
                version, subject, area, sla = (
                    "cassetto-2026",
                    "generico_informativo",
                    "soggetto_contribuente",
                    10,
                )
                row.update(requester_sub="fax:contact-center", requester_name="Fax", requester_role="fax")
            if origin == "sede":
                version, subject, area, sla = (
                    "comunicazioni-2026",
                    "comunicazione_sede",
                    "comunicazioni",
                    None,
                )
                row.update(channel="comunicazioni", profile="sede", requester_sub=f"op-{place[0]}")
                row.update(requester_name="Operatore di sede", requester_role="sede_operatore")
            queue = area
        elif origin == "patronato" and rng.random() < 0.1:  # a referente regionale, to the CRIC
            version, subject, area, sla = pick(rng, REFERENTE)
            section = rng.choice(CRIC_SECTIONS)
            kind, queue = "cric", section
            row.update(channel="combipat", profile="referente_regionale", cric_section=section)
        elif origin == "patronato":
            version, subject, area, sla = pick(rng, OPERATORE)
            queue = area
            row.update(
                channel="combipat",
                profile="operatore_generico",
                citizen_codice_fiscale=people.citizen(rng),
                citizen_cap=f"{rng.randrange(10, 99)}{rng.randrange(1000):03d}",
            )
            if subject != "requisiti_accesso":
                row["case_identifier"] = json.dumps(
                    {
                        "kind": "protocollo",
                        "value": f"INPS.{place[0]}.{day:%d/%m/%Y}.{rng.randrange(10**7):07d}",
                    }
                )
        else:  # linea_inps, contact_center: a citizen's question through the contact center
            version, subject, area, sla = (
                ("linea-inps-2011", "scheda_linea_inps", "consulenza", 25)
                if origin == "linea_inps"
                else ("comunicazioni-2026", "comunicazione_contact_center", "comunicazioni", None)
            )
            section = rng.choice(CRIC_SECTIONS) if origin == "linea_inps" else None
            kind, queue = ("cric", section) if origin == "linea_inps" else ("sede", "comunicazioni")
            row.update(
                channel="linea_inps" if origin == "linea_inps" else "comunicazioni",
                profile="contact_center",
                citizen_codice_fiscale=people.citizen(rng),
                cric_section=section,
                requester_sub="linea-inps:contact-center",
                requester_name="Contact center",
                requester_role="contact_center",
            )
        if origin == "patronato":
            ente = rng.choice(PATRONATI)
            ufficio = f"{place[0]}{rng.randrange(4)}"
            row.update(
                patronato_ente=ente,
                patronato_ufficio=ufficio,
                requester_sub=f"pat-{ente}-{ufficio}-{rng.randrange(5)}",
                requester_name="Operatore patronato",
                requester_role="patronato_referente" if kind == "cric" else "patronato_operatore",
            )
        code, name, region = place
        if kind == "cric":
            code, name = people.cric[region]
        if rng.random() < 0.005 and origin not in ("sede", "contact_center"):
            kind, code, name, queue = "triage", "TRIAGE", "Coda di smistamento", None
        routed_at = submitted + timedelta(seconds=2)
        delay = closing_delay(rng, sla or 10)
        closed_at = None
        forgotten = rng.random() < 0.01  # the old backlog: some requests never closed
        if not forgotten and submitted + timedelta(days=delay) < datetime.now(UTC) - timedelta(hours=1):
            closed_at = submitted + timedelta(days=delay, hours=rng.randrange(0, 6))
        state = "closed" if closed_at else ("in_progress" if rng.random() < 0.5 else "open")
        taken = submitted + timedelta(hours=rng.randrange(1, 48)) if state == "in_progress" else None
        row.update(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            protocol=f"COMBID.{year}.B{number + 1:08d}",
            subject_code=subject,
            catalog_version=version,
            area=area,
            sla_days=sla,
            state=state,
            assignment=json.dumps(
                {
                    "kind": kind,
                    "code": code,
                    "name": name,
                    "region": region,
                    "queue": queue,
                    "reason": "generato",
                }
            ),
            assigned_sede=None if kind == "triage" else code,
            assigned_region=region,
            assigned_queue=queue,
            assigned_kind=kind,
            routed_at=routed_at,
            first_answer_at=closed_at,
            answers_count=1 if closed_at else 0,
            outcome="Definita" if closed_at else None,
            closed_at=closed_at,
            created_at=submitted,
            updated_at=closed_at or (min(taken, datetime.now(UTC)) if taken else routed_at),
        )
        yield [row[name] for name in COLUMNS]


def _copy(cursor, values: list[list]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(values)
    buffer.seek(0)
    cursor.copy_expert(f"COPY requests ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer)


def generate(url: str, count: int, seed: int = 13, progress=print) -> dict:
    """Write ``count`` requests into the migrated, empty intake database at ``url``."""
    import psycopg2
    from sqlalchemy.engine import make_url

    rng = random.Random(seed)
    started = time.perf_counter()
    people = Population(rng)
    today = rome_date(SystemClock().now())
    target = make_url(url)
    connection = psycopg2.connect(
        host=target.host, port=target.port or 5432, user=target.username, password=target.password,
        dbname=target.database,
    )  # fmt: skip
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM (SELECT 1 FROM requests LIMIT 1) AS one")
        if cursor.fetchone()[0]:
            raise SystemExit("La tabella requests non è vuota: usare un database nuovo.")
        # the secondary indexes, built again after the load (constraints stay)
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'requests' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        connection.commit()
        batch, written = [], 0
        for values in rows(count, today, rng, people):
            batch.append(values)
            if len(batch) >= CHUNK:
                _copy(cursor, batch)
                connection.commit()
                written += len(batch)
                batch = []
                if written % (CHUNK * 4) == 0:
                    progress(f"  {written:,} richieste ({time.perf_counter() - started:.0f} s)")
        _copy(cursor, batch)
        connection.commit()
        loaded = time.perf_counter() - started
        progress(f"  {count:,} richieste scritte in {loaded:.0f} s; indici ({len(indexes)})…")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        connection.commit()
        connection.autocommit = True
        cursor.execute("VACUUM ANALYZE requests")
    finally:
        connection.close()
    return {
        "requests": count,
        "load_seconds": round(loaded, 1),
        "index_seconds": round(time.perf_counter() - started - loaded, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Genera richieste finte nel database di intake (COPY)")
    parser.add_argument("--database-url", required=True, help="database di intake migrato e vuoto")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 10_000_000:
        parser.error("--requests: da 1 a 10.000.000")
    made = generate(args.database_url, args.requests, args.seed)
    print(f"{made['requests']:,} richieste in {made['load_seconds']} s, indici in {made['index_seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
