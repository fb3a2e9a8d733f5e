"""High availability on a real failover engine (issue #19), slow: a pg_auto_failover cluster
(``scripts/ha-cluster.sh``: monitor, primary, synchronous standby) of its own, in a
temporary directory on ports of its own.

* The api role on the real hot standby serves reads and refuses writes with 503
  ``DATABASE_READ_ONLY`` (tests/e2e/test_read_only.py covers every role, fast, on a
  read-only session).
* The DR drill (``scripts/dr-drill.sh``) with a small load: the primary SIGKILLed mid-load,
  the standby promoted, no acknowledged payment lost, none doubled, the books balanced, and
  the first payment booked on the new primary within the RTO target.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from adapters.migration import record_migration
from adapters.persistence import DatabaseConfig
from api.http.app import create_app
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from tests.builders import iban, message
from tests.e2e.conftest import SUPERUSER

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
HA = REPO / "scripts" / "ha-cluster.sh"
PORT = 6560  # the monitor; the nodes on 6561 and 6562 (a developer's cluster uses 6540)


@pytest.fixture(scope="module")
def ha_env() -> Iterator[dict[str, str]]:
    """A fresh cluster for this module; removed afterwards."""
    installed = subprocess.run(
        [str(REPO / "scripts" / "install-auto-failover.sh")], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    directory = tempfile.mkdtemp(prefix="ledger-ha-")
    env = {**os.environ, "LEDGER_HA_DIR": directory, "LEDGER_HA_PORT": str(PORT)}
    try:
        _ha(env, "up", timeout=300)
        yield env
    finally:
        _ha(env, "down", "--purge", check=False)
        shutil.rmtree(directory, ignore_errors=True)


def _ha(env: dict[str, str], *args: str, timeout: float = 120, check: bool = True) -> str:
    result = subprocess.run(
        [str(HA), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert result.returncode == 0, f"ha-cluster.sh {args}: {result.stdout}{result.stderr}"
    return result.stdout.strip()


def test_the_api_serves_reads_on_a_real_standby_and_refuses_writes(
    ha_env: dict[str, str], tmp_path: Path
) -> None:
    primary = int(_ha(ha_env, "primary"))
    standby = PORT + 1 if primary == PORT + 2 else PORT + 2
    schema = "standby_reads"
    on_primary = DatabaseConfig(
        tmp_path, f"postgresql://postgres@127.0.0.1:{primary}/ledger", schema
    )
    migrated = bootstrap(Settings().with_database(on_primary))  # `ledger migrate`
    try:
        record_migration(migrated.read_engine)
        account_iban = iban("DE")
        resolver = lambda _request: SUPERUSER  # noqa: E731
        with TestClient(create_app(migrated, principal_resolver=resolver)) as client:
            opened = client.post(
                "/v1/accounts",
                json={"iban": account_iban, "holderName": "Erika Mustermann", "currency": "EUR"},
            )
            assert opened.status_code == 201, opened.text
            paid = client.post(
                "/v1/transactions",
                json=message(debtor=iban("NL"), creditor=account_iban, amount="7.00"),
            )
            assert paid.status_code == 202, paid.text
        migrated.projector.catch_up()
        account = opened.json()["id"]
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{primary}/ledger") as conn:
            lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
    finally:
        migrated.close()
    _wait_replayed(standby, str(lsn[0]) if lsn else "0/0")

    on_standby = DatabaseConfig(
        tmp_path, f"postgresql://postgres@127.0.0.1:{standby}/ledger", schema
    )
    container = bootstrap(Settings().with_database(on_standby), role="api", migrate=False)
    try:
        app = create_app(container, principal_resolver=lambda _request: SUPERUSER)
        with TestClient(app) as client:
            read = client.get(f"/v1/accounts/{account}")
            assert read.status_code == 200, read.text
            assert read.json()["balance"]["amount"] == "7.00"
            refused = client.post(
                "/v1/transactions",
                json=message(debtor=iban("NL"), creditor=account_iban, amount="1.00"),
            )
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "DATABASE_READ_ONLY"
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["database"] == "read-only"
            assert ready.json()["checks"]["databaseStandby"] is True
    finally:
        container.close()


def _wait_replayed(port: int, lsn: str, timeout: float = 30) -> None:
    """Until the standby on ``port`` has replayed the primary's WAL up to ``lsn``."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/ledger") as conn:
        while True:
            row = conn.execute(
                "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s) >= 0",
                (lsn,),
            ).fetchone()
            assert row is not None and row[0], "not a standby"
            if row[1]:
                return
            assert time.monotonic() < deadline, f"standby on {port} did not replay {lsn}"
            time.sleep(0.1)


def test_the_drill_fails_over_under_load_without_losing_or_doubling_a_payment(
    ha_env: dict[str, str],
) -> None:
    drill = subprocess.run(
        [str(REPO / "scripts" / "dr-drill.sh"), "--payments", "1500", "--kill-at", "0.3"],
        env=ha_env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = drill.stdout + drill.stderr
    assert drill.returncode == 0, output
    passed = re.search(r"DRILL PASSED: RTO ([0-9.]+) s, RPO (\d+) payments", output)
    assert passed is not None, output
    assert float(passed.group(1)) < 60 and passed.group(2) == "0", output
    assert "exactly once" in output and "FAILED" not in output, output
