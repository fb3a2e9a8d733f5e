"""``ledger serve --role ingestion`` on a fresh PostgreSQL schema (issue #13, point 3).

Without ``ledger migrate``: a refusal naming the command, exit code 2, no traceback. After it:
three processes started at once all become ready (``/readyz`` 200) and stop with 0 on
SIGTERM. Before ``ledger migrate`` became the only place DDL runs, each process created the
tables at start, and two at once on an empty schema crashed with ``IntegrityError
pg_type_typname_nsp_index``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from adapters.persistence import DatabaseConfig
from tests.broker.support import ROOT, free_port, ingestion_env, unique_config, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.postgres]

PROCESSES = 3


def _env(database: DatabaseConfig, port: int | None = None) -> dict[str, str]:
    extra = {"LEDGER_PORT": str(port)} if port is not None else {}
    return ingestion_env(database, unique_config().queue, **extra)


def _ledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_without_migrate_the_role_refuses_naming_the_command(
    postgres_database: DatabaseConfig,
) -> None:
    result = _ledger(_env(postgres_database, free_port()), "serve", "--role", "ingestion")
    assert result.returncode == 2, result.stderr
    assert "run `ledger migrate` first" in result.stderr
    assert "schema version none" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_three_ingestion_processes_started_at_once_after_migrate_all_become_ready(
    postgres_database: DatabaseConfig, tmp_path: Path
) -> None:
    migrated = _ledger(_env(postgres_database), "migrate")
    assert migrated.returncode == 0, migrated.stderr
    ports = [free_port() for _ in range(PROCESSES)]
    logs = [(tmp_path / f"ingestion-{i}.log").open("wb") for i in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "serve", "--role", "ingestion"],
            cwd=ROOT,
            env=_env(postgres_database, port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]

    def output() -> str:
        return "\n".join(
            (tmp_path / f"ingestion-{i}.log").read_text(errors="replace") for i in range(PROCESSES)
        )

    try:
        for process, port in zip(processes, ports, strict=True):
            wait_until(
                lambda p=process, n=port: p.poll() is not None or _ready(n),  # type: ignore[misc]
                90,
                f"ingestion on port {port} to be ready",
            )
            assert process.poll() is None, output()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        assert [process.wait(timeout=60) for process in processes] == [0] * PROCESSES, output()
        assert "Traceback" not in output()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
