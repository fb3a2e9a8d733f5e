"""``bootstrap(migrate=False)`` (every ``ledger serve`` role): no DDL, and a refusal naming
``ledger migrate`` on a database it has not migrated (issue #13: DDL only in ``ledger migrate``).

The statements are recorded where they leave the process: SQLAlchemy's
``before_cursor_execute`` on every engine (the read models) and psycopg's ``Cursor.execute``
(eventsourcing's event stores on PostgreSQL, and the connection check).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from adapters.migration import (
    SCHEMA_VERSION,
    SchemaNotMigrated,
    installed_version,
    record_migration,
)
from adapters.persistence import DatabaseConfig, read_model_engine
from api.http.app import app_from_env
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings

DDL = ("CREATE", "ALTER", "DROP", "TRUNCATE", "COMMENT", "GRANT", "REVOKE")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement this process sends while the test runs."""
    seen: list[str] = []

    def on_engine(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    original = psycopg.Cursor.execute

    def on_psycopg(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(query if isinstance(query, str | bytes) else query.as_string(self))
        return original(self, query, *args, **kwargs)

    event.listen(Engine, "before_cursor_execute", on_engine)
    monkeypatch.setattr(psycopg.Cursor, "execute", on_psycopg)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", on_engine)


def _ddl(statements: list[str]) -> list[str]:
    return [s for s in statements if str(s).lstrip().upper().startswith(DDL)]


def _migrate(settings: Settings) -> None:
    """What ``ledger migrate`` does."""
    container = bootstrap(settings, migrate=True)
    try:
        record_migration(container.read_engine)
    finally:
        container.close()


@pytest.mark.postgres
def test_a_process_start_on_a_migrated_database_runs_no_ddl(
    postgres_database: DatabaseConfig, statements: list[str]
) -> None:
    settings = Settings().with_database(postgres_database)
    _migrate(settings)
    assert _ddl(statements), "the recorder sees ledger migrate's DDL"  # the probe works
    statements.clear()
    container = bootstrap(settings, migrate=False)
    try:
        assert container.tables_assumed
        container.check_database()
        assert container.heads() == dict.fromkeys(container.applications, 0)
        container.projector.catch_up()  # reads and tracks, creates nothing
        assert container.projector.quarantined.open_counts() == {}
    finally:
        container.close()
    assert statements, "the recorder saw the process start"
    assert _ddl(statements) == []


def test_an_unmigrated_database_is_refused_with_the_command_to_run(
    database: DatabaseConfig, statements: list[str]
) -> None:
    settings = Settings().with_database(database)
    with pytest.raises(SchemaNotMigrated, match="run `ledger migrate` first") as refused:
        bootstrap(settings, migrate=False)
    assert (refused.value.found, refused.value.needed) == (None, SCHEMA_VERSION)
    assert f"schema version none, this code needs {SCHEMA_VERSION})" in str(refused.value)
    assert _ddl(statements) == []


def test_tables_made_by_another_command_without_the_marker_are_still_refused(
    database: DatabaseConfig,
) -> None:
    """``ledger demo`` or ``ledger users`` create what they miss but record no version: only
    ``ledger migrate`` makes a database a process may start on."""
    settings = Settings().with_database(database)
    bootstrap(settings).close()
    with pytest.raises(SchemaNotMigrated):
        bootstrap(settings, migrate=False)


def test_an_older_schema_version_is_refused_and_migrate_records_the_current_one(
    database: DatabaseConfig,
) -> None:
    settings = Settings().with_database(database)
    _migrate(settings)
    engine = read_model_engine(database)
    try:
        assert installed_version(engine) == SCHEMA_VERSION
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE ledger_schema_version SET version = :old"),
                {"old": SCHEMA_VERSION - 1},
            )
        with pytest.raises(SchemaNotMigrated, match=f"schema version {SCHEMA_VERSION - 1}, "):
            bootstrap(settings, migrate=False)
        _migrate(settings)  # idempotent: brings the version up again
        assert installed_version(engine) == SCHEMA_VERSION
        bootstrap(settings, migrate=False).close()
    finally:
        engine.dispose()


def test_app_from_env_refuses_an_unmigrated_store_and_starts_on_a_migrated_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uvicorn --factory api.http.app:app_from_env`` starts the same way as ``ledger serve``."""
    for name in [key for key in os.environ if key.startswith("LEDGER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "var"))
    with pytest.raises(SchemaNotMigrated), TestClient(app_from_env()):
        pass
    _migrate(Settings.from_env())
    with TestClient(app_from_env()) as client:
        assert client.get("/healthz").status_code == 200
