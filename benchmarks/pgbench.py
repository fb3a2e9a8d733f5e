"""pgbench's tpcb-like TPS on the same PostgreSQL, as the yardstick for booking."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg

from benchmarks.environment import BENCH_DATABASE_URL, admin_url, ensure_database

PGBENCH_DATABASE_PREFIX = "ledger_pgbench"
"""pgbench runs in its own database per process (``ledger_pgbench_<pid>``), dropped afterwards:
two benchmark runs at once (or a benchmark during the test suite's smoke test) would otherwise
re-initialise each other's tables mid-run."""


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    tps: float
    latency_ms: float


def run_pgbench(clients: int, seconds: int, scale: int = 10) -> PgbenchResult | None:
    """Initialise (scale ``scale``) and run tpcb-like for ``seconds``; None without pgbench."""
    binary = shutil.which("pgbench")
    if binary is None:
        return None
    database = f"{PGBENCH_DATABASE_PREFIX}_{os.getpid()}"
    url = BENCH_DATABASE_URL.rsplit("/", 1)[0] + "/" + database
    ensure_database(url)
    try:
        return _initialise_and_run(binary, url, database, clients, seconds, scale)
    finally:
        with psycopg.connect(admin_url(url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _run(command: list[str]) -> str:
    """``command``'s standard output; its standard error in the exception when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr.strip()}"
        )
    return done.stdout


def _initialise_and_run(
    binary: str, url: str, database: str, clients: int, seconds: int, scale: int
) -> PgbenchResult:
    parts = urlsplit(url)
    conn_args = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    _run([binary, *conn_args, "-i", "-q", "-s", str(scale), database])
    jobs = min(clients, 2)
    out = _run(
        [
            binary,
            *conn_args,
            "-b",
            "tpcb-like",
            "-c",
            str(clients),
            "-j",
            str(jobs),
            "-T",
            str(seconds),
            database,
        ]
    )
    tps = re.search(r"tps = ([0-9.]+)", out)
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    if tps is None:
        raise RuntimeError(f"could not read pgbench output:\n{out}")
    return PgbenchResult(clients, float(tps.group(1)), float(latency.group(1)) if latency else 0.0)
