"""``python -m benchmarks.vop_http [--quick] [--accounts N] [--processes 1,2] [--connections N]
[--bulk-connections N] [--bulk-size N] [--seconds S] [--warmup S] [--set LEDGER_X=Y ...]``

Verification of Payee over HTTP: does the responder answer ≥ 2,000 checks/s with p99 < 50 ms
on this machine, does it scale by processes, and is every check's event written?

One PostgreSQL schema is migrated (``ledger migrate``) and its account directory
(``rm_vop_directory``, the read model the projector keeps) is seeded directly with
``--accounts`` customer accounts (natural persons, joint accounts, companies with an LEI). For
each process count, that many ``ledger serve --role vop`` processes are started (each waited
for on ``/readyz``), then loaded with real HTTP (:mod:`benchmarks.vop_load`: keep-alive
connections, one asyncio loop): first single-check requests
(``POST /v1/vop/payee-verifications``, ``--connections`` at once), then bulk requests
(``.../bulk`` of ``--bulk-size`` entries, ``--bulk-connections`` at once), each for
``--warmup`` then ``--seconds``. The names asked are a mix: the holder's name as held, in
another order, with an initial, with a typo, someone else's name, and unknown IBANs (NOAP).
Every request carries a new request id, so every entry is a new check and a new event.

At the end the checks answered (warm-up included) are compared with the events in the vop
context's event store: their number, and the ``vopCheckId`` of every answer with the
originator ids of the events (every one of them, as sets, and no id returned twice); the run
fails unless they are equal. Prints the machine, the command and the load average, then one
row per process count and kind: requests and checks per second, the p50/p99 latency of a
request, errors, the CPU the load generator and the vop processes used, the directory
cache's hits and misses in that window (the processes' ``/metrics``), and whether the row
meets the issue's target (**≥ 2,000 checks/s with p99 < 50 ms**); below it, the target's
verdict on the best process count. The verdict is reported, not the exit code: exit code 1
when a request failed, an event is missing or a check id does not match, or a process did not
become ready.

What it does not show: by default the load is **closed-loop** (each connection sends its next
request when the last one is answered), so the rates are saturation throughput and p99 is the
latency at saturation, not at a given offered rate (``--rate C``: open loop instead, C checks/s
offered per kind, latency from when each request was due); and the directory is seeded
directly into its read model, so no account event reaches the caches during the run (no
invalidation traffic: the hit rate is the best case, a preloaded cache that nothing changes).
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from adapters.persistence import DatabaseConfig, read_model_engine
from api.runtime.settings import Settings
from api.security import local_issuer
from benchmarks.__main__ import render_machine
from benchmarks.arguments import counts, ledger_setting
from benchmarks.auth import percentile
from benchmarks.environment import command_env, fresh_store, load_average
from benchmarks.scale_out.processes import RoleProcess, migrate
from benchmarks.vop_load import Requests, Window, drive
from projections.vop.directory import rm_vop_directory

READY_TIMEOUT_S = 180.0
TARGET_CHECKS_PER_S = 2_000
TARGET_P99_MS = 50.0
"""Issue #15's target on this 2-core machine."""
REQUESTER_BIC = "BANKFRPPXXX"
LEI = "529900T8BM49AURSDO55"
FIRST = [
    "Anna",
    "Max",
    "Lukas",
    "Marie",
    "Sophie",
    "Paul",
    "Jonas",
    "Emma",
    "Leon",
    "Mia",
    "Felix",
    "Lea",
    "Noah",
    "Hannah",
    "Elias",
    "Lena",
    "Jean",
    "Pierre",
    "Claire",
    "Louis",
    "Giulia",
    "Marco",
    "Chiara",
    "Luca",
    "Ana",
    "José",
    "Lucía",
    "Jan",
    "Piotr",
    "Agnieszka",
]
LAST = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Dubois",
    "Martin",
    "Bernard",
    "Rossi",
    "Russo",
    "Bianchi",
    "García",
    "López",
    "Martínez",
    "Kowalski",
    "Nowak",
    "Jansen",
    "de Vries",
    "Svensson",
    "Andersen",
    "Novák",
    "Popescu",
    "Papadopoulos",
]
COMPANY = [
    "Bau",
    "Logistik",
    "Handel",
    "Technik",
    "Consulting",
    "Software",
    "Immobilien",
    "Transport",
    "Energie",
]
FORMS = ("GmbH", "AG", "S.A.", "S.à r.l.", "B.V.", "S.p.A.", "Ltd", "SE")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.vop_http",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--accounts", type=int, default=100_000, help="directory size")
    parser.add_argument("--processes", type=counts, default=[1, 2], help="e.g. 1,2 (default)")
    parser.add_argument("--connections", type=int, default=32, help="single-check, in all")
    parser.add_argument("--bulk-connections", type=int, default=4, help="bulk, in all")
    parser.add_argument("--bulk-size", type=int, default=20, help="entries per bulk request")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window per kind")
    parser.add_argument("--warmup", type=float, default=3.0, help="load before each window")
    parser.add_argument(
        "--set",
        type=ledger_setting,
        action="append",
        default=[],
        metavar="LEDGER_X=Y",
        help="a setting for the vop processes (e.g. LEDGER_VOP_COMMIT_MAX_WAIT_MS=2)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="C",
        help="open loop: offer C checks/s per kind (requests due at that rate, latency from "
        "when due); default: closed loop (saturation)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args(argv)
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive (checks/s offered per kind)")
    if args.quick:
        args.accounts, args.seconds, args.warmup = 300, 1.0, 0.3
        args.connections, args.bulk_connections, args.bulk_size = 4, 2, 5
    return args


def de_iban(n: int) -> str:
    """The n-th German IBAN of one bank (check digits computed here: 100,000 in no time)."""
    bban = f"37040044{n:010d}"
    digits = int(bban + "131400")  # D=13, E=14, then 00
    return f"DE{98 - digits % 97:02d}{bban}"


def holder(n: int, rng: random.Random) -> dict[str, object]:
    """The directory row of account ``n``: every 10th a company, every 4th a joint account."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    row: dict[str, object] = {
        "holder_type": "NATURAL",
        "legal_name": f"{first} {last}",
        "further_names": [],
        "identifiers": [],
    }
    if n % 10 == 0:
        name = f"{last} {rng.choice(COMPANY)} {rng.choice(FORMS)}"
        row.update(
            holder_type="LEGAL", legal_name=name, identifiers=[{"scheme": "LEI", "value": LEI}]
        )
    elif n % 4 == 0:
        row["further_names"] = [f"{rng.choice(FIRST)} {last}"]
    return row


def seed_directory(database: DatabaseConfig, accounts: int) -> list[tuple[str, str, str]]:
    """``accounts`` rows in ``rm_vop_directory``; returns (IBAN, holder type, legal name)."""
    rng = random.Random(15)
    now = datetime.now(UTC)
    rows = []
    for n in range(1, accounts + 1):
        rows.append(
            {
                "account_id": str(uuid.UUID(int=n)),
                "iban": de_iban(n),
                "status": "OPEN" if n % 50 else "CLOSED",
                "opened_at": now,
                "updated_at": now,
                "version": 1,
                **holder(n, rng),
            }
        )
    engine = read_model_engine(database)
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), 5_000):
                conn.execute(insert(rm_vop_directory), rows[start : start + 5_000])
    finally:
        engine.dispose()
    return [(str(r["iban"]), str(r["holder_type"]), str(r["legal_name"])) for r in rows]


def asked_name(holder_type: str, name: str, rng: random.Random) -> str:
    """The name a payer types: as held, reordered, an initial, a typo, or someone else."""
    words = name.split()
    roll = rng.random()
    if roll < 0.45 or len(words) < 2:
        return name
    if roll < 0.60 and holder_type == "NATURAL":
        return " ".join(reversed(words))
    if roll < 0.75 and holder_type == "NATURAL":
        return f"{words[0][0]}. {' '.join(words[1:])}"
    if roll < 0.88:
        last = words[-1] if holder_type == "NATURAL" else words[0]
        typo = last[:-1] + ("x" if last[-1] != "x" else "y")
        return name.replace(last, typo, 1)
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def entries(directory: list[tuple[str, str, str]], count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        if rng.random() < 0.05:  # an IBAN we do not hold: NOAP
            iban, kind, name = de_iban(10_000_000 + rng.randrange(1_000_000)), "NATURAL", "X Y"
        else:
            iban, kind, name = rng.choice(directory)
        found.append(
            {"party": {"name": asked_name(kind, name, rng)}, "partyAccount": {"iban": iban}}
        )
    return found


def single_bodies(directory: list[tuple[str, str, str]], count: int = 20_000) -> list[bytes]:
    agent = {"financialInstitutionId": {"bicfi": REQUESTER_BIC}}
    return [
        json.dumps({**entry, "requestingAgent": agent}).encode()
        for entry in entries(directory, count, seed=1)
    ]


def bulk_bodies(directory: list[tuple[str, str, str]], size: int, count: int = 400) -> list[bytes]:
    agent = {"financialInstitutionId": {"bicfi": REQUESTER_BIC}}
    pool = entries(directory, size * count, seed=2)
    return [
        json.dumps({"requestingAgent": agent, "entries": pool[i * size : (i + 1) * size]}).encode()
        for i in range(count)
    ]


LIMITS_OFF = {
    # One PSP makes every request: its limits would be measured instead of the process.
    "LEDGER_RATE_LIMIT_PER_SECOND": "0",
    "LEDGER_VOP_RATE_LIMIT_PER_SECOND": "0",
}


def ledger_env(database: DatabaseConfig, extra: list[tuple[str, str]]) -> dict[str, str]:
    """The environment of a ``ledger`` command on ``database`` (no ``LEDGER_*`` of ours)."""
    return command_env(database, LIMITS_OFF, extra)


def start_processes(count: int, env: dict[str, str], log_dir: Path) -> list[RoleProcess]:
    processes = [RoleProcess.start(i, env, log_dir, role="vop") for i in range(count)]
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = list(processes)
    while waiting:
        for process in list(waiting):
            if not process.alive():
                logs = process.log_text()[-3000:]
                for p in processes:
                    p.stop()
                raise RuntimeError(f"vop process {process.index} exited:\n{logs}")
            if process.ready():
                waiting.remove(process)
        if waiting and time.monotonic() > deadline:
            for p in processes:
                p.stop()
            raise RuntimeError(f"vop processes not ready within {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.1)
    return processes


@dataclass
class Run:
    """One process count and kind of request: the window and what the servers did in it."""

    processes: int
    kind: str
    window: Window
    commits: int
    cache_hits: int
    cache_misses: int

    @property
    def p99(self) -> float | None:
        return percentile(self.window.latencies_ms, 99) if self.window.latencies_ms else None

    @property
    def meets_target(self) -> bool:
        p99 = self.p99
        return (
            self.window.check_rate >= TARGET_CHECKS_PER_S
            and p99 is not None
            and p99 < TARGET_P99_MS
        )


def cache_counts(ports: Sequence[int]) -> tuple[int, int]:
    """The directory caches' hits and misses so far, summed over the processes."""
    hits = misses = 0.0
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "ledger_vop_directory_cache_hits_total":
                    hits += sample.value
                elif sample.name == "ledger_vop_directory_cache_misses_total":
                    misses += sample.value
    return int(hits), int(misses)


def check_ids_in_store(database: DatabaseConfig) -> set[str]:
    """The originator ids of the vop context's events (one check each)."""
    assert database.url is not None
    with psycopg.connect(database.url, autocommit=True) as conn:
        rows = conn.execute(
            f'SELECT originator_id::text FROM "{database.schema}".vop_events'
        ).fetchall()
    return {str(row[0]).lower() for row in rows}


def id_problems(returned: Sequence[bytes], answered: int, stored: set[str]) -> list[str]:
    """How the ``vopCheckId``s answered differ from the events' originator ids (none: equal)."""
    ids = [i.decode().lower() for i in returned]
    distinct = set(ids)
    problems = []
    if len(ids) != answered:
        problems.append(f"{answered - len(ids):,} answers without a vopCheckId")
    if len(distinct) != len(ids):
        problems.append(f"{len(ids) - len(distinct):,} vopCheckIds returned twice")
    if distinct - stored:
        problems.append(f"{len(distinct - stored):,} vopCheckIds with no event")
    if stored - distinct:
        problems.append(f"{len(stored - distinct):,} events whose id no answer returned")
    return problems


def target_verdict(runs: Sequence[Run]) -> str:
    """The issue's target on the best process count of each kind (the most checks/s)."""
    parts = []
    for kind in dict.fromkeys(r.kind for r in runs):
        best = max((r for r in runs if r.kind == kind), key=lambda r: r.window.check_rate)
        p99 = f"{best.p99:.1f}" if best.p99 is not None else "-"
        parts.append(
            f"{kind}: {'PASS' if best.meets_target else 'FAIL'} at {best.processes} process(es) "
            f"({best.window.check_rate:,.0f} checks/s, p99 {p99} ms)"
        )
    return (
        f"target (issue #15: >= {TARGET_CHECKS_PER_S:,} checks/s with p99 < {TARGET_P99_MS:.0f} "
        f"ms, best process count): " + "; ".join(parts)
    )


def events_written(database: DatabaseConfig) -> int:
    """The events in the vop context's event store (one per check)."""
    assert database.url is not None
    with psycopg.connect(database.url, autocommit=True) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{database.schema}".vop_events').fetchone()
    return int(row[0]) if row else 0


def database_commits(database: DatabaseConfig) -> int:
    """Transactions committed in the benchmark's database so far (every session's; in the
    window they are the group commits, the few directory reads of cache misses and the
    caches' refreshes)."""
    assert database.url is not None
    with psycopg.connect(database.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def bytes_per_event(database: DatabaseConfig) -> float:
    """The vop event table with its indexes, per event."""
    assert database.url is not None
    with psycopg.connect(database.url, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT pg_total_relation_size('\"{database.schema}\".vop_events'), "
            f'count(*) FROM "{database.schema}".vop_events'
        ).fetchone()
    return row[0] / row[1] if row and row[1] else 0.0


def _ms(samples: list[float], q: float) -> str:
    return f"{percentile(samples, q):.1f}" if samples else "-"


def render_runs(runs: Sequence[Run], args: argparse.Namespace) -> Table:
    table = Table(
        title=f"vop role over HTTP: {args.accounts:,} accounts in the directory; single checks "
        f"over {args.connections} connections, bulk of {args.bulk_size} over "
        f"{args.bulk_connections}",
        caption=(
            f"open loop: {args.rate:,.0f} checks/s offered per kind, latency from when a request "
            "was due"
            if args.rate
            else "closed loop (each connection waits for its answer): checks/s is saturation "
            "throughput and p99 the latency at saturation"
        )
        + "; the directory is seeded directly "
        "(no account events: no cache invalidation during the run); cache hits/misses "
        "include the warm-up; target: >= 2,000 checks/s with p99 < 50 ms",
    )
    for column in (
        "processes",
        "requests",
        "requests/s",
        "checks/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "client CPU (cores)",
        "vop CPU (cores)",
        "DB commits/s",
        "checks/commit",
        "cache hits/misses",
        "target",
    ):
        table.add_column(column, justify="right")
    table.columns[0].justify = "left"
    for run in runs:
        window = run.window
        per_second = run.commits / window.seconds if window.seconds else 0.0
        table.add_row(
            f"{run.processes} ({run.kind})",
            f"{window.requests:,}",
            f"{window.requests / window.seconds:,.0f}",
            f"{window.check_rate:,.0f}",
            _ms(window.latencies_ms, 50),
            _ms(window.latencies_ms, 99),
            str(window.errors),
            f"{window.client_cpu:.2f}",
            f"{window.server_cpu:.2f}",
            f"{per_second:,.0f}",
            f"{window.check_rate / per_second:.1f}" if per_second else "-",
            f"{run.cache_hits:,}/{run.cache_misses:,}",
            "PASS" if run.meets_target else "FAIL",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    console = Console(width=160)  # one line per row, also in a log file
    started, load_before = time.perf_counter(), load_average()
    runs: list[Run] = []
    with fresh_store("postgres") as database, tempfile.TemporaryDirectory() as logs:
        env = ledger_env(database, args.set)
        migrate(env)
        seeding = time.perf_counter()
        directory = seed_directory(database, args.accounts)
        console.log(f"seeded {len(directory):,} accounts in {time.perf_counter() - seeding:.1f} s")
        settings = Settings.from_env(env)
        token = local_issuer(settings.auth, settings.data_dir).issue(
            "service:bankfrpp", ["vop_requester"], 3600
        )
        kinds = (
            (
                "single",
                Requests("/v1/vop/payee-verifications", single_bodies(directory), 1, token),
                args.connections,
            ),
            (
                "bulk",
                Requests(
                    "/v1/vop/payee-verifications/bulk",
                    bulk_bodies(directory, args.bulk_size),
                    args.bulk_size,
                    token,
                ),
                args.bulk_connections,
            ),
        )
        for count in args.processes:
            processes = start_processes(count, env, Path(logs))
            try:
                ports = [p.port for p in processes]
                for kind, requests, connections in kinds:
                    commits_before = database_commits(database)
                    hits_before, misses_before = cache_counts(ports)
                    window = drive(
                        [p.port for p in processes],
                        [p.process.pid for p in processes],
                        requests,
                        connections=connections,
                        warmup=args.warmup,
                        seconds=args.seconds,
                        rate=args.rate / requests.checks if args.rate else None,
                    )
                    # the commits of warm-up and window, scaled to the window's share
                    commits = database_commits(database) - commits_before
                    share = window.seconds / (window.seconds + args.warmup)
                    hits, misses = cache_counts(ports)
                    runs.append(
                        Run(
                            count,
                            kind,
                            window,
                            round(commits * share),
                            hits - hits_before,
                            misses - misses_before,
                        )
                    )
                    console.log(
                        f"{count} process(es), {kind}: {window.check_rate:,.0f} checks/s, "
                        f"p99 {_ms(window.latencies_ms, 99)} ms"
                    )
            finally:
                for process in processes:
                    process.stop()
        answered = sum(run.window.checks_answered for run in runs)
        written = events_written(database)
        mismatched = id_problems(
            [i for run in runs for i in run.window.check_ids],
            answered,
            check_ids_in_store(database),
        )
        event_bytes = bytes_per_event(database)
    command = "python -m benchmarks.vop_http " + shlex.join(given)
    machine = render_machine(command, time.perf_counter() - started)
    machine.add_row("load average (1, 5, 15 min)", f"{load_before} before, {load_average()} after")
    machine.add_row("load generator", "this process: one uvloop loop, raw HTTP/1.1 keep-alive")
    if args.set:
        machine.add_row("vop settings", " ".join(f"{k}={v}" for k, v in args.set))
    console.print(machine)
    console.print(render_runs(runs, args))
    console.print(target_verdict(runs))
    hits, misses = sum(r.cache_hits for r in runs), sum(r.cache_misses for r in runs)
    console.print(
        f"directory cache: {hits:,} hits, {misses:,} misses "
        f"({hits / (hits + misses):.1%} from memory)"
        if hits + misses
        else "directory cache: no lookups counted (cache off?)"
    )
    ok = written == answered and not mismatched
    verdict = "every check's event written" if ok else "EVENTS MISSING OR IDS DIFFER"
    console.print(
        f"checks answered {answered:,}; events in the vop event store {written:,}; every "
        f"vopCheckId compared with the events' originator ids: "
        f"{'; '.join(mismatched) or 'equal'}: {verdict}"
    )
    console.print(f"vop event table with its indexes: {event_bytes:,.0f} bytes per check")
    failed = [r.window for r in runs if r.window.errors or not r.window.requests]
    if failed:
        console.print(f"[red]requests failed: {failed[0].errors}; {failed[0].first_error}[/red]")
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
