"""The read models' Alembic migrations (adapters/migrations), on SQLite and PostgreSQL.

* The migrated schema is the code's: Alembic's ``compare_metadata`` between the database
  ``ledger migrate`` made and the tables the code defines finds nothing. A table or column
  changed in the code without a revision fails here.
* A database the code before Alembic made (``metadata.create_all``, marker version 1) is
  stamped with the baseline and its rows kept, not created again.
* ``ledger migrate`` run by several processes at once (threads here: the race is in the
  database) ends with one schema at head, and so does the Alembic upgrade alone (what the
  one-off admin commands run, without the ``ledger migrate`` lock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Column, Engine, MetaData, String, event, insert, inspect, select, text

from adapters import migrations
from adapters.migration import (
    SCHEMA_VERSION,
    SchemaNotMigrated,
    installed_version,
    migration_lock,
    record_migration,
    require_migrated,
)
from adapters.persistence import DatabaseConfig, read_model_engine
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings

BASELINE = migrations.BASELINE
rm_projection_tracking = migrations.target_metadata().tables["rm_projection_tracking"]


def _migrate(database: DatabaseConfig) -> None:
    """What ``ledger migrate`` does."""
    with migration_lock(database):
        container = bootstrap(Settings().with_database(database), migrate=True)
        try:
            record_migration(container.read_engine)
        finally:
            container.close()


@pytest.fixture
def engine(database: DatabaseConfig) -> Iterator[Engine]:
    engine = read_model_engine(database)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The statements sent on the read-model engine while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _differences(engine: Engine, metadata: MetaData | None = None) -> list[Any]:
    with engine.connect() as connection:
        return migrations.differences(connection, metadata)


def _created(statements: list[str]) -> list[str]:
    return [
        s for s in statements if s.lstrip().upper().startswith(("CREATE TABLE", "CREATE INDEX"))
    ]


def test_the_migrated_schema_is_the_one_the_code_defines(
    database: DatabaseConfig, engine: Engine
) -> None:
    _migrate(database)
    assert _differences(engine) == []
    assert migrations.installed_revision(engine) == migrations.head()
    require_migrated(database)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        schema = migrations.version_table_schema(connection)
    assert "alembic_version" in tables  # in the configured schema on PostgreSQL
    assert schema == database.schema


def test_a_table_changed_without_a_revision_is_found(
    database: DatabaseConfig, engine: Engine
) -> None:
    """The comparison above is a real guard: a column the code adds shows up."""
    _migrate(database)
    changed = migrations.target_metadata()
    changed.tables["rm_accounts"].append_column(Column("nickname", String(32)))
    differences = _differences(engine, changed)
    assert [(d[0], d[3].name) for d in differences] == [("add_column", "nickname")]


def test_migrate_is_idempotent_and_the_second_run_changes_nothing(
    database: DatabaseConfig, engine: Engine, statements: list[str]
) -> None:
    _migrate(database)
    statements.clear()
    _migrate(database)
    assert _created(statements) == []
    assert migrations.installed_revision(engine) == migrations.head()


def test_a_database_made_by_create_all_is_stamped_not_created_again(
    database: DatabaseConfig, engine: Engine, statements: list[str]
) -> None:
    # What `ledger migrate` did before Alembic: create_all, then the marker.
    container = bootstrap(Settings().with_database(database), migrate=True)
    container.close()
    with engine.begin() as connection:
        for table in reversed(migrations.target_metadata().sorted_tables):
            connection.execute(text(f"DROP TABLE {table.name}"))
        connection.execute(text("DROP TABLE alembic_version"))
    legacy = migrations.baseline_tables()  # what create_all made then: the baseline's tables
    with engine.begin() as connection:  # as they were then (later revisions add columns)
        command.upgrade(migrations.alembic_config(connection), BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))
    record_migration(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(rm_projection_tracking).values(
                projection="accounts", context="ledger", position=7
            )
        )
    assert installed_version(engine) == SCHEMA_VERSION
    assert migrations.installed_revision(engine) is None
    with pytest.raises(SchemaNotMigrated, match="read-model revision none, this code needs"):
        require_migrated(database)

    statements.clear()
    _migrate(database)
    created = _created(statements)
    later = set(migrations.target_metadata().tables) - legacy  # later revisions' tables
    assert created and all(
        "alembic_version" in s
        or any(
            f"CREATE TABLE {t} " in s
            or f"CREATE TABLE _alembic_tmp_{t} " in s  # SQLite: a later table altered
            or f" ON {t} (" in s
            for t in later
        )
        for s in created
    ), created
    assert migrations.installed_revision(engine) == migrations.head()
    with engine.connect() as connection:
        kept = connection.execute(select(rm_projection_tracking.c.position)).scalars().all()
    assert kept == [7]
    assert _differences(engine) == []
    require_migrated(database)


def test_a_revision_behind_the_head_is_refused_and_migrate_brings_it_up(
    database: DatabaseConfig, engine: Engine
) -> None:
    _migrate(database)
    with engine.begin() as connection:  # back to the baseline: later revisions undone
        command.downgrade(migrations.alembic_config(connection), BASELINE)
    with pytest.raises(SchemaNotMigrated) as refused:
        require_migrated(database)
    assert (refused.value.revision, refused.value.head) == (BASELINE, migrations.head())
    assert "run `ledger migrate` first" in str(refused.value)
    _migrate(database)
    require_migrated(database)
    assert _differences(engine) == []


def test_a_newer_releases_revision_is_left_alone(database: DatabaseConfig, engine: Engine) -> None:
    """After a rollback the database may be at a revision this code does not know (expand-
    only revisions): the older code starts on it and its ``ledger migrate`` changes nothing."""
    _migrate(database)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    require_migrated(database)
    assert migrations.upgrade(engine) == "9999"


def test_some_baseline_tables_without_a_revision_are_refused_not_guessed(
    database: DatabaseConfig, engine: Engine
) -> None:
    rm_projection_tracking.create(engine)
    with pytest.raises(migrations.IncompleteLegacySchema, match="rm_accounts"):
        migrations.upgrade(engine)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == {"rm_projection_tracking"}


def _all_at_once(run: Callable[[], object], count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def worker() -> None:
        start.wait()
        try:
            run()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_several_upgrades_at_once_end_at_the_head(database: DatabaseConfig, engine: Engine) -> None:
    errors = _all_at_once(lambda: migrations.upgrade(engine), 4)
    assert errors == []
    assert migrations.installed_revision(engine) == migrations.head()
    assert _differences(engine) == []


def test_several_ledger_migrate_at_once_all_succeed(
    database: DatabaseConfig, engine: Engine
) -> None:
    errors = _all_at_once(lambda: _migrate(database), 3)
    assert errors == []
    require_migrated(database)
    assert _differences(engine) == []


def test_revision_0006_adds_columns_without_rebuilding_the_checks_table(
    database: DatabaseConfig, engine: Engine
) -> None:
    """SQLite: the append-only ``rm_vop_checks`` is altered in place (its root page stays),
    not copied to widen a length SQLite ignores; both: down and up again keeps the rows and
    a wide requester (the downgrade does not narrow it)."""
    _migrate(database)
    with engine.begin() as connection:
        command.downgrade(migrations.alembic_config(connection), "0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO rm_vop_checks (check_id, direction, requester, request_id, entry, "
                "iban, outcome, score, latency_us, requested_at, received_at, recorded_at, "
                "actor) VALUES ('c1', 'RESPONDER', 'BNPAFRPPXXX', 'r', 0, 'DE', 'MTCH', "
                "'100', 1, :at, :at, :at, 'service:x')"
            ),
            {"at": "2026-01-01 00:00:00"},
        )
    before = _root_page(engine)
    with engine.begin() as connection:
        command.upgrade(migrations.alembic_config(connection), "head")
    assert _root_page(engine) == before
    assert _differences(engine) == []
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE rm_vop_checks SET requester = :r WHERE check_id = 'c1'"),
            {"r": "service:" + "m" * 40},
        )
    with engine.begin() as connection:  # down keeps the long principal, up again
        command.downgrade(migrations.alembic_config(connection), "0005")
        command.upgrade(migrations.alembic_config(connection), "head")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT requester FROM rm_vop_checks")).scalar_one()
    assert kept == "service:" + "m" * 40


def _root_page(engine: Engine) -> int | None:
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        page: int = connection.execute(
            text("SELECT rootpage FROM sqlite_master WHERE name = 'rm_vop_checks'")
        ).scalar_one()
    return page
