"""pgbench's tpcb-like TPS on the same PostgreSQL, as the yardstick for booking."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg

from benchmarks.environment import BENCH_DATABASE_URL, admin_url, ensure_database

PGBENCH_DATABASE = "ledger_pgbench"
"""Prefix of the database of one pgbench run (``ledger_pgbench_<random>``, dropped after it):
a database of its own, because ``pgbench -i`` drops and recreates its tables and two benchmark
commands running at once (a CI run's smoke tests and a measurement) would break each other."""


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    tps: float
    latency_ms: float


def run_pgbench(clients: int, seconds: int, scale: int = 10) -> PgbenchResult | None:
    """Initialise (scale ``scale``) and run tpcb-like for ``seconds`` in a database of its
    own; None without pgbench."""
    binary = shutil.which("pgbench")
    if binary is None:
        return None
    name = f"{PGBENCH_DATABASE}_{uuid.uuid4().hex[:8]}"
    url = BENCH_DATABASE_URL.rsplit("/", 1)[0] + "/" + name
    ensure_database(url)
    try:
        return _run(binary, url, name, clients, seconds, scale)
    finally:
        with psycopg.connect(admin_url(url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pgbench(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def _run(binary: str, url: str, name: str, clients: int, seconds: int, scale: int) -> PgbenchResult:
    parts = urlsplit(url)
    conn_args = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    _pgbench([binary, *conn_args, "-i", "-q", "-s", str(scale), name])
    jobs = min(clients, 2)
    out = _pgbench(
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
            name,
        ]
    )
    tps = re.search(r"tps = ([0-9.]+)", out)
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    if tps is None:
        raise RuntimeError(f"could not read pgbench output:\n{out}")
    return PgbenchResult(clients, float(tps.group(1)), float(latency.group(1)) if latency else 0.0)
