"""Count the PostgreSQL connections each ``ledger serve --role ROLE`` process holds.

Usage (from the repository root, with the local PostgreSQL and RabbitMQ of the test setup):

    PYTHONPATH=$PWD .venv/bin/python scripts/connections-per-role.py [ROLE ...]

A scratch schema is made and migrated (``ledger migrate``); each role then starts alone with
``PGAPPNAME`` set, so libpq tags every connection of the process (event stores and read
models alike), and ``pg_stat_activity`` is counted once ``/readyz`` answers 200 and again 5 s
later (idle, no load). The schema is dropped at the end. Prints ``role  at-ready  after-5s``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
URL = os.environ.get("LEDGER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ledger_test")
STOMP = os.environ.get("LEDGER_STOMP_URL", "stomp://guest:guest@127.0.0.1:61613")
ROLES = ("all", "api", "projector", "ingestion", "fraud", "reconciliation", "notifications")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def count(application: str) -> int:
    with psycopg.connect(URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchone()
    return int(row[0]) if row else 0


def measure(role: str, env: dict[str, str], schema: str) -> tuple[int, int]:
    port, application = free_port(), f"conns-{schema}-{role}"
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve", "--role", role],
        cwd=ROOT,
        env={**env, "LEDGER_PORT": str(port), "PGAPPNAME": application},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{role} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{role} not ready after 90 s")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        at_ready = count(application)
        time.sleep(5)
        return at_ready, count(application)
    finally:
        process.terminate()
        process.wait(60)


def main(roles: list[str]) -> None:
    schema = f"conns_{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(
        LEDGER_DATA_DIR=f"/tmp/{schema}",
        LEDGER_DATABASE_URL=URL,
        LEDGER_DATABASE_SCHEMA=schema,
        LEDGER_STOMP_URL=STOMP,
        LEDGER_STOMP_QUEUE=f"/queue/{schema}.in",
        LEDGER_STOMP_DLQ=f"/queue/{schema}.dlq",
        LEDGER_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    migrate = [sys.executable, "-m", "api.cli.main", "migrate"]
    try:
        subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)
        for role in roles:
            at_ready, later = measure(role, env, schema)
            print(f"{role}\t{at_ready}\t{later}", flush=True)
    finally:
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main(sys.argv[1:] or list(ROLES))
