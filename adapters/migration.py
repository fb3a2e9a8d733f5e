"""``ledger migrate``'s DDL, and which version of the schema it last installed.

``ledger migrate`` is the only place DDL runs (schema, event tables, read models, outbox and
position tables, append-only triggers: :func:`install_schema`). At its end it records
:data:`SCHEMA_VERSION` in ``ledger_schema_version`` (in the read-model database). Every
long-running process (``ledger serve``, ``uvicorn --factory api.http.app:app_from_env``) starts
without DDL and first reads that marker: when it is missing or older than this code's
version it refuses to start with :class:`SchemaNotMigrated`, whose message names the command
to run. Creating tables at process start is what made two role processes starting together
on an empty schema crash (``IntegrityError pg_type_typname_nsp_index``).

Bump :data:`SCHEMA_VERSION` whenever ``ledger migrate`` creates or changes something new.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, func, inspect, select

from adapters.audit.append_only import protect
from adapters.messaging.outbox import create_outbox_tables
from adapters.notifications.positions import create_position_tables
from adapters.persistence import DatabaseConfig, read_model_engine
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


class SchemaNotMigrated(RuntimeError):
    """The database is not (or not fully) migrated for this code: run ``ledger migrate``."""

    def __init__(self, found: int | None, needed: int = SCHEMA_VERSION) -> None:
        self.found = found
        self.needed = needed
        shown = "none" if found is None else str(found)
        super().__init__(
            f"the database is not migrated (schema version {shown}, this code needs "
            f"{needed}): run `ledger migrate` first"
        )


def installed_version(engine: Engine) -> int | None:
    """The highest version ``ledger migrate`` recorded, None when it never ran."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(TABLE):
            return None
        found = connection.execute(select(func.max(schema_versions.c.version))).scalar()
    return None if found is None else int(found)


def require_migrated(database: DatabaseConfig) -> None:
    """Raise :class:`SchemaNotMigrated` unless the read-model database of ``database`` has
    this code's schema version (one short-lived connection, no DDL)."""
    engine = read_model_engine(database)
    try:
        found = installed_version(engine)
    finally:
        engine.dispose()
    if found is None or found < SCHEMA_VERSION:
        raise SchemaNotMigrated(found)


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
    """Create the read-model, outbox and position tables that are missing and install the
    append-only triggers on the event tables and the audit chain (the applications created
    their event tables when built with eventsourcing's ``CREATE_TABLE`` on, its default)."""
    projector.create_tables()
    create_outbox_tables(engine)
    create_position_tables(engine)
    protect(applications, engine)
