"""Append-only event store: database triggers that refuse UPDATE, DELETE and TRUNCATE.

Protected: every context's events table (and snapshots table, when the application takes
snapshots), named as eventsourcing names them (PostgreSQL: ``<app>_events`` and
``<app>_snapshots`` in the configured schema; SQLite: ``stored_events`` and
``stored_snapshots`` in the context's own file), and the ``audit_chain`` table of the
read-model database.

* PostgreSQL: one trigger function per schema raising an exception, a row-level BEFORE
  UPDATE OR DELETE trigger and a statement-level BEFORE TRUNCATE trigger per table.
* SQLite: BEFORE UPDATE and BEFORE DELETE triggers calling ``RAISE(ABORT, ...)`` (SQLite has
  no TRUNCATE; ``DELETE`` without ``WHERE`` fires the trigger too).

Installation is idempotent: missing triggers are created, present ones left alone; on
PostgreSQL under an advisory lock, so processes starting together do not race. eventsourcing
9.5 itself only INSERTs into these tables (its only ``UPDATE`` is on tracking tables).

Snapshots tables also get a BEFORE INSERT trigger refusing a snapshot whose version is below
1 or above the originator's last event in the application's events table (a snapshot is only
ever taken of recorded events). It cannot refuse a forged snapshot *at* a recorded version:
``ledger audit verify`` (``adapters.audit.snapshot_verify``) is what detects that.

This stops accidents and application-level tampering; the table owner or a superuser can
still disable the triggers. The hash chain (``projections.audit.chain``) is what detects that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Recorder
from eventsourcing.postgres import PostgresRecorder
from eventsourcing.sqlite import SQLiteRecorder
from sqlalchemy import Engine, text

from projections.audit.chain import audit_chain

FUNCTION = "backoffice_append_only"
ROW_TRIGGER = "append_only_rows"
TRUNCATE_TRIGGER = "append_only_truncate"
LOCK_KEY = "backoffice-ledger:append-only"
SNAPSHOT_FUNCTION = "backoffice_snapshot_not_ahead"
SNAPSHOT_TRIGGER = "snapshot_not_ahead"


def refusal(table: str, operation: str) -> str:
    """The error message of a refused change (SQLite; PostgreSQL builds the same one)."""
    return f"backoffice-ledger: {operation} on {table} refused: the table is append-only"


def snapshot_refusal(table: str) -> str:
    """The error message of a refused snapshot (SQLite; PostgreSQL adds the versions)."""
    return f"backoffice-ledger: INSERT on {table} refused: a snapshot cannot be ahead of its events"


def protect(applications: Iterable[Application[Any]], read_engine: Engine) -> None:
    """Install the triggers on every application's event tables and on ``audit_chain``."""
    for app in applications:
        for recorder in event_recorders(app):
            protect_recorder(recorder)
        if app.snapshots is not None:
            protect_snapshots(app.snapshots.recorder, app.recorder)
    protect_read_models(read_engine)


def event_recorders(app: Application[Any]) -> list[Recorder]:
    """The recorders of ``app``'s events table and, when it takes snapshots, snapshots table."""
    recorders: list[Recorder] = [app.recorder]
    if app.snapshots is not None:
        recorders.append(app.snapshots.recorder)
    return recorders


def protect_recorder(recorder: Recorder) -> None:
    """Install the triggers on the table of one eventsourcing recorder."""
    table = str(getattr(recorder, "events_table_name", ""))
    if not table:
        raise TypeError(f"{type(recorder).__name__} names no events table")
    if isinstance(recorder, PostgresRecorder):
        schema = recorder.datastore.schema
        with recorder.datastore.transaction(commit=True) as cursor:
            for statement in _postgres_statements(cursor, schema, table):
                cursor.execute(statement)
    elif isinstance(recorder, SQLiteRecorder):
        with recorder.datastore.transaction(commit=True) as cursor:
            for statement in sqlite_statements(table):
                cursor.execute(statement)
    else:
        raise TypeError(f"no append-only triggers for {type(recorder).__name__}")


def protect_snapshots(snapshots: Recorder, events: Recorder) -> None:
    """Install the trigger that refuses a snapshot ahead of its originator's events."""
    table = str(getattr(snapshots, "events_table_name", ""))
    events_table = str(getattr(events, "events_table_name", ""))
    if not table or not events_table:
        raise TypeError(f"{type(snapshots).__name__} names no snapshots table")
    if isinstance(snapshots, PostgresRecorder):
        schema = snapshots.datastore.schema
        with snapshots.datastore.transaction(commit=True) as cursor:
            for statement in _postgres_snapshot_statements(cursor, schema, table, events_table):
                cursor.execute(statement)
    elif isinstance(snapshots, SQLiteRecorder):
        with snapshots.datastore.transaction(commit=True) as cursor:
            cursor.execute(sqlite_snapshot_statement(table, events_table))
    else:
        raise TypeError(f"no snapshot trigger for {type(snapshots).__name__}")


def protect_read_models(engine: Engine) -> None:
    """Install the triggers on the ``audit_chain`` table of the read-model database."""
    table = audit_chain.name
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
            raw = conn.connection.cursor()  # psycopg's own: DDL with '%' and no parameters
            try:
                for statement in _postgres_statements(raw, schema, table):
                    raw.execute(statement)
            finally:
                raw.close()
        elif conn.dialect.name == "sqlite":
            for statement in sqlite_statements(table):
                conn.exec_driver_sql(statement)
        else:
            raise TypeError(f"no append-only triggers for {conn.dialect.name}")


def sqlite_statements(table: str) -> list[str]:
    """DDL of the SQLite triggers on ``table`` (idempotent)."""
    return [
        f'CREATE TRIGGER IF NOT EXISTS "{table}_append_only_{op.lower()}" '
        f'BEFORE {op} ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{refusal(table, op)}'); END"
        for op in ("UPDATE", "DELETE")
    ]


def sqlite_snapshot_statement(table: str, events_table: str) -> str:
    """DDL of the SQLite trigger refusing a snapshot ahead of its events (idempotent).

    Both tables are in the context's own file; ids are stored alike in both (UUID hex)."""
    return (
        f'CREATE TRIGGER IF NOT EXISTS "{table}_{SNAPSHOT_TRIGGER}" BEFORE INSERT ON "{table}" '
        "WHEN NEW.originator_version < 1 OR NEW.originator_version > COALESCE(("
        f'SELECT max(originator_version) FROM "{events_table}" '
        "WHERE originator_id = NEW.originator_id), 0) "
        f"BEGIN SELECT RAISE(ABORT, '{snapshot_refusal(table)}'); END"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _postgres_statements(cursor: Any, schema: str, table: str) -> list[str]:
    """The DDL still missing for ``schema.table``, found under the advisory lock."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (LOCK_KEY,))
    qualified = f"{_ident(schema)}.{_ident(table)}"
    function = f"{_ident(schema)}.{_ident(FUNCTION)}"
    cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", (f"{function}()",))
    row = cursor.fetchone()
    has_function = bool(_first(row))
    cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s)", (qualified,))
    present = {_first(r) for r in cursor.fetchall()}
    statements = []
    if not has_function:
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
            "BEGIN RAISE EXCEPTION 'backoffice-ledger: % on %.% refused: the table is "
            "append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME "
            "USING HINT = 'events are never changed; record a correcting event instead'; "
            "END $fn$"
        )
    if ROW_TRIGGER not in present:
        statements.append(
            f"CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {qualified} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    if TRUNCATE_TRIGGER not in present:
        statements.append(
            f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {qualified} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def _postgres_snapshot_statements(
    cursor: Any, schema: str, table: str, events_table: str
) -> list[str]:
    """The DDL still missing for the snapshot trigger on ``schema.table``, under the lock."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (LOCK_KEY,))
    qualified = f"{_ident(schema)}.{_ident(table)}"
    function = f"{_ident(schema)}.{_ident(SNAPSHOT_FUNCTION)}"
    cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", (f"{function}()",))
    has_function = bool(_first(cursor.fetchone()))
    cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s)", (qualified,))
    present = {_first(r) for r in cursor.fetchall()}
    statements = []
    if not has_function:
        # TG_ARGV[0]: the events table of the snapshots table's application, same schema.
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
            "DECLARE last_version bigint; "
            "BEGIN "
            "EXECUTE format('SELECT max(originator_version) FROM %I.%I "
            "WHERE originator_id = $1', TG_TABLE_SCHEMA, TG_ARGV[0]) "
            "INTO last_version USING NEW.originator_id; "
            "IF NEW.originator_version < 1 "
            "OR NEW.originator_version > coalesce(last_version, 0) THEN "
            "RAISE EXCEPTION 'backoffice-ledger: INSERT on %.% refused: a snapshot cannot be "
            "ahead of its events (originator %, snapshot v%, last event v%)', "
            "TG_TABLE_SCHEMA, TG_TABLE_NAME, NEW.originator_id, NEW.originator_version, "
            "coalesce(last_version, 0) "
            "USING HINT = 'snapshots are taken of recorded events only'; "
            "END IF; "
            "RETURN NEW; "
            "END $fn$"
        )
    if SNAPSHOT_TRIGGER not in present:
        statements.append(
            f"CREATE TRIGGER {SNAPSHOT_TRIGGER} BEFORE INSERT ON {qualified} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}({_literal(events_table)})"
        )
    return statements


def _first(row: Any) -> Any:
    """The first column of a row from a tuple or dict row factory."""
    if row is None:
        return None
    if isinstance(row, dict):
        return next(iter(row.values()))
    return row[0]
