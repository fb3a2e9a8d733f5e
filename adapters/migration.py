"""``ledger migrate``'s DDL, and which version of the schema it last installed.

``ledger migrate`` is the only place DDL runs (:func:`install_schema`): the schema and the
event tables (eventsourcing), the read-model tables (Alembic: ``alembic upgrade head`` through
:func:`adapters.migrations.upgrade`, versioned revisions in ``adapters/migrations/versions``),
and the append-only triggers. At its end it records :data:`SCHEMA_VERSION` in
``ledger_schema_version`` (in the read-model database). Every long-running process
(``ledger serve``, ``uvicorn --factory api.http.app:app_from_env``) starts without DDL and
first reads that marker and the Alembic revision: when the marker is missing or older than
this code's version, or the revision is behind this code's Alembic head, it refuses to start
with :class:`SchemaNotMigrated`, whose message names the command to run. Creating tables at
process start is what made two role processes starting together on an empty schema crash
(``IntegrityError pg_type_typname_nsp_index``). :func:`migration_lock` serialises whole
``ledger migrate`` runs and the DDL of every one-off command (``bootstrap(migrate=True)``),
so several started at once, or one beside a ``ledger migrate``, do not race either.

A read-model table change is a new Alembic revision (docs/operations.md); bump
:data:`SCHEMA_VERSION` when ``ledger migrate`` changes something outside Alembic (event
tables, triggers).
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.application import Application
from psycopg.conninfo import make_conninfo
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, func, inspect, select

from adapters import migrations
from adapters.audit.append_only import protect
from adapters.leadership import lock_key
from adapters.persistence import (
    DatabaseConfig,
    DatabaseUnreachable,
    describe_target,
    pg_params,
    read_model_engine,
)
from projections.runner.projector import Projector

SCHEMA_VERSION = 1
"""The schema this code needs; ``ledger migrate`` installs it and records it."""

TABLE = "ledger_schema_version"
metadata = MetaData()
schema_versions = Table(
    TABLE,
    metadata,
    Column("version", Integer, primary_key=True),
    Column("migrated_at", DateTime(timezone=True), nullable=False),
)


LOCK_NAME = "backoffice-ledger:migrate:"
"""The advisory lock of a whole ``ledger migrate`` run (PostgreSQL; the schema is appended)."""


class SchemaNotMigrated(RuntimeError):
    """The database is not (or not fully) migrated for this code: run ``ledger migrate``.

    ``found``/``needed``: the ``ledger_schema_version`` marker; ``revision``/``head``: the
    read models' Alembic revision, when the marker is current and the revision is not."""

    def __init__(
        self,
        found: int | None,
        needed: int = SCHEMA_VERSION,
        *,
        revision: str | None = None,
        head: str | None = None,
    ) -> None:
        self.found = found
        self.needed = needed
        self.revision = revision
        self.head = head
        if head is not None and found is not None and found >= needed:
            detail = f"read-model revision {revision or 'none'}, this code needs {head}"
        else:
            shown = "none" if found is None else str(found)
            detail = f"schema version {shown}, this code needs {needed}"
        super().__init__(f"the database is not migrated ({detail}): run `ledger migrate` first")


def installed_version(engine: Engine) -> int | None:
    """The highest version ``ledger migrate`` recorded, None when it never ran."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(TABLE):
            return None
        found = connection.execute(select(func.max(schema_versions.c.version))).scalar()
    return None if found is None else int(found)


def require_migrated(database: DatabaseConfig) -> None:
    """Raise :class:`SchemaNotMigrated` unless the read-model database of ``database`` has
    this code's schema version and its read models are at this code's Alembic head (or at a
    newer release's revision: :func:`adapters.migrations.is_behind`; one short-lived
    connection, no DDL)."""
    engine = read_model_engine(database)
    try:
        found = installed_version(engine)
        if found is None or found < SCHEMA_VERSION:
            raise SchemaNotMigrated(found)
        revision = migrations.installed_revision(engine)
    finally:
        engine.dispose()
    if migrations.is_behind(revision):
        raise SchemaNotMigrated(found, revision=revision, head=migrations.head())


def record_migration(engine: Engine) -> None:
    """Record :data:`SCHEMA_VERSION` (the last step of ``ledger migrate``; idempotent)."""
    metadata.create_all(engine, checkfirst=True)
    with engine.begin() as connection:
        present = connection.execute(
            select(schema_versions.c.version).where(schema_versions.c.version == SCHEMA_VERSION)
        ).first()
        if present is None:
            connection.execute(
                schema_versions.insert().values(
                    version=SCHEMA_VERSION, migrated_at=datetime.now(UTC)
                )
            )


def install_schema(
    applications: Iterable[Application[Any]], projector: Projector, engine: Engine
) -> None:
    """Bring the read-model, outbox and position tables to the Alembic head (stamping a
    database ``metadata.create_all`` made before Alembic) and install the append-only
    triggers on the event tables and the audit chain (the applications created their event
    tables when built with eventsourcing's ``CREATE_TABLE`` on, its default)."""
    migrations.upgrade(engine)
    projector.assume_tables()
    protect(applications, engine)


_held = threading.local()
"""The migration locks this thread holds (their keys): :func:`migration_lock` is re-entrant."""


@contextlib.contextmanager
def migration_lock(database: DatabaseConfig) -> Iterator[None]:
    """Hold the lock of a migration: every piece of DDL (the schema, the event tables:
    eventsourcing's ``CREATE TABLE IF NOT EXISTS`` races on PostgreSQL's type names; the
    Alembic upgrade; the triggers' ``CREATE OR REPLACE FUNCTION``: "tuple concurrently
    updated") is made by one process at a time; the next one waits, then finds it made.
    ``ledger migrate`` holds it for its whole run and ``bootstrap(migrate=True)`` (every
    one-off command) for its DDL; re-entrant in one thread, so the one inside the other
    does not wait for itself. PostgreSQL: a session-level advisory lock per schema on a
    connection of its own; SQLite: an exclusive ``fcntl`` lock on ``.migrate.lock`` in the
    data directory."""
    key = _lock_identity(database)
    held: set[str] = _held.__dict__.setdefault("keys", set())
    if key in held:
        yield
        return
    held.add(key)
    try:
        with _acquired(database):
            yield
    finally:
        held.discard(key)


def _lock_identity(database: DatabaseConfig) -> str:
    if database.url is None:
        return f"sqlite:{database.data_dir.resolve()}"
    return f"postgres:{database.url}:{database.schema or ''}"


@contextlib.contextmanager
def _acquired(database: DatabaseConfig) -> Iterator[None]:
    """Take the lock of :func:`migration_lock` (waiting for it), release it on the way out."""
    if database.url is None:
        database.data_dir.mkdir(parents=True, exist_ok=True)
        with (database.data_dir / ".migrate.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    key = lock_key(LOCK_NAME + (database.schema or ""))
    params = pg_params(database.url)
    try:
        conn = psycopg.connect(make_conninfo("", **params), autocommit=True)
    except psycopg.OperationalError as error:
        raise DatabaseUnreachable(
            f"cannot connect to PostgreSQL at {describe_target(params)}: {error}"
        ) from None
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
