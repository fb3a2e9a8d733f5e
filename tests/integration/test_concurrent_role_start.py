"""Role processes started at the same instant on PostgreSQL never race on DDL (issue 14, point 4).

Two role processes starting together on a schema without tables used to crash with
``IntegrityError ... pg_type_typname_nsp_index``: each created the tables at start, and
PostgreSQL's ``CREATE TABLE IF NOT EXISTS`` is not safe run concurrently. Now ``ledger
migrate`` makes every table under the migration lock, and ``ledger serve`` runs no DDL: it
checks the schema version and refuses an unmigrated database with a message naming the
command (docs/operations.md §12). Here real ``ledger serve`` processes (RabbitMQ for the
ingestion role) are released from one barrier (:mod:`tests.integration.role_processes`):

* three ``--role ingestion`` on a migrated schema: all become ready, are all still running
  and ready once the last one is, stop with 0 on SIGTERM, and run no DDL statement at all
  (a PostgreSQL event trigger records every one);
* the same three on a schema without tables, and on a schema that does not exist: all exit
  with code 2 and ``run `ledger migrate` first``, no traceback, no DDL, nothing created;
* ``api``, ``projector`` and ``ingestion`` together on a migrated schema, and every role
  (those and ``fraud``, ``reconciliation``, ``notifications``): as the first;
* three one-off commands (``ledger projections status``: ``bootstrap(migrate=True)``) on an
  empty schema: they create what is missing one after the other under the migration lock
  and all succeed (they crashed with the same IntegrityError, or "tuple concurrently
  updated" from the triggers' ``CREATE OR REPLACE FUNCTION`` on a migrated schema).

No output of any process may contain a traceback, ``IntegrityError``, ``duplicate``,
``already exists`` or ``tuple concurrently updated``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapters.persistence import DatabaseConfig
from tests.broker.support import ROOT, free_port, ingestion_env, unique_config
from tests.conftest import _drop_schema
from tests.integration.role_processes import (
    LedgerProcess,
    assert_no_crash_output,
    ddl_audit,
    outputs,
    schema_exists,
    start_together,
    stop_all,
    tables_in,
    wait_all_exited,
    wait_all_ready,
)

pytestmark = [pytest.mark.postgres, pytest.mark.broker, pytest.mark.slow]  # 70 s or more in all

REFUSAL = "run `ledger migrate` first"


def _env(database: DatabaseConfig, queue: str, port: int | None = None) -> dict[str, str]:
    extra = {"LEDGER_PORT": str(port)} if port is not None else {}
    return ingestion_env(database, queue, **extra)


def _migrate(database: DatabaseConfig) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "migrate"],
        cwd=ROOT,
        env=_env(database, unique_config().queue),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr


def _serve(database: DatabaseConfig, roles: list[str], queue: str) -> list[tuple]:
    commands = []
    for name in roles:
        port = free_port()
        commands.append((("serve", "--role", name), _env(database, queue, port), port))
    return commands


def _assert_all_ready_and_stay(processes: list[LedgerProcess]) -> None:
    wait_all_ready(processes)
    # Once the last one is ready, every one still runs and is still ready: none was taken
    # down by what another did while starting.
    for running in processes:
        assert running.process.poll() is None, outputs(processes)
        assert running.ready(), f"{running.label()} no longer ready\n{outputs(processes)}"


@pytest.mark.parametrize(
    "roles",
    [
        ["ingestion"] * 3,
        ["api", "projector", "ingestion"],
        ["api", "projector", "ingestion", "fraud", "reconciliation", "notifications"],
    ],
    ids=["three-ingestion", "api-projector-ingestion", "every-role"],
)
def test_roles_started_at_once_on_a_migrated_schema_all_become_ready_without_ddl(
    postgres_database: DatabaseConfig, tmp_path: Path, roles: list[str]
) -> None:
    _migrate(postgres_database)
    assert postgres_database.schema is not None
    with ddl_audit(postgres_database.schema) as audit:
        commands = _serve(postgres_database, roles, unique_config().queue)
        with start_together(commands, tmp_path) as processes:
            _assert_all_ready_and_stay(processes)
            assert stop_all(processes) == [0] * len(roles), outputs(processes)
        assert audit.statements() == [], outputs(processes)
    assert_no_crash_output(processes)


@pytest.mark.parametrize("schema_state", ["empty", "absent"])
def test_roles_started_at_once_on_an_unmigrated_schema_all_refuse_naming_the_command(
    postgres_database: DatabaseConfig, tmp_path: Path, schema_state: str
) -> None:
    database = postgres_database
    if schema_state == "absent":
        database = DatabaseConfig(
            data_dir=postgres_database.data_dir,
            url=postgres_database.url,
            schema=f"{postgres_database.schema}_absent",
        )
    assert database.schema is not None
    try:
        with ddl_audit(database.schema) as audit:
            commands = _serve(database, ["ingestion"] * 3, unique_config().queue)
            with start_together(commands, tmp_path) as processes:
                assert wait_all_exited(processes) == [2, 2, 2], outputs(processes)
            assert audit.statements() == [], outputs(processes)
        for running in processes:
            refusal = running.err.read_text()
            assert REFUSAL in refusal and "schema version none" in refusal, outputs(processes)
        assert_no_crash_output(processes)
        assert tables_in(database.schema) == []
        assert schema_exists(database.schema) == (schema_state == "empty")
    finally:
        if schema_state == "absent":
            _drop_schema(database.schema)


def test_one_off_commands_at_once_on_an_empty_schema_take_turns_with_the_ddl(
    postgres_database: DatabaseConfig, tmp_path: Path
) -> None:
    env = _env(postgres_database, unique_config().queue)
    commands = [(("projections", "status"), env, None)] * 3
    with start_together(commands, tmp_path) as processes:
        assert wait_all_exited(processes) == [0, 0, 0], outputs(processes)
    assert_no_crash_output(processes)
    assert postgres_database.schema is not None
    assert "ledger_events" in tables_in(postgres_database.schema)
