"""pgbench's tpcb-like TPS on the same PostgreSQL, as the yardstick for booking."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

from benchmarks.environment import BENCH_DATABASE_URL, ensure_database

PGBENCH_DATABASE = "ledger_pgbench"


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
    url = BENCH_DATABASE_URL.rsplit("/", 1)[0] + "/" + PGBENCH_DATABASE
    ensure_database(url)
    parts = urlsplit(url)
    conn_args = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    subprocess.run(
        [binary, *conn_args, "-i", "-q", "-s", str(scale), PGBENCH_DATABASE],
        check=True,
        capture_output=True,
        text=True,
    )
    jobs = min(clients, 2)
    out = subprocess.run(
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
            PGBENCH_DATABASE,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tps = re.search(r"tps = ([0-9.]+)", out)
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    if tps is None:
        raise RuntimeError(f"could not read pgbench output:\n{out}")
    return PgbenchResult(clients, float(tps.group(1)), float(latency.group(1)) if latency else 0.0)
