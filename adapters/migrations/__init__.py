"""Versioned read-model migrations (Alembic), run by ``ledger migrate`` only.

The read-model database (``read-models.sqlite``, or the PostgreSQL database and schema) holds
the projections' tables, ``rm_projection_tracking``, ``rm_quarantine``, ``audit_chain``,
``outbox_tracking``, ``notification_positions`` and the partition leases
(``partition_members``, ``partition_leases``): every table of :func:`target_metadata`.
They are created and changed by the revisions in ``versions/`` (written out, never
``metadata.create_all``), and Alembic records the revision in ``alembic_version`` (PostgreSQL:
in the configured schema). No ``alembic.ini``: :func:`alembic_config` builds the configuration
in code, and ``env.py`` runs on the connection it is handed.

:func:`upgrade` is idempotent and safe when several processes run it at once: the whole
upgrade is one transaction that first takes a lock (PostgreSQL: an advisory transaction lock
per schema, with transactional DDL; SQLite: ``BEGIN IMMEDIATE``, the database's write lock),
then reads the revision, so a second process waits and then finds the schema at head. A
database created by the code before Alembic (``metadata.create_all``: every baseline table
present, no ``alembic_version``) is stamped with :data:`BASELINE`, not created again.

Revisions are expand-only (docs/operations.md): a database at a revision this code does not
know was migrated by a newer release, and this code runs on it (a rollback) without touching
it; only a database *behind* this code's head is not migrated (:func:`is_behind`).

Adding a migration: docs/operations.md, section 12 ("Read-model migrations").
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, MetaData, String, inspect, text

import projections.runner.registry  # noqa: F401  (imports every projection: their tables register)
from adapters.messaging.outbox import metadata as outbox_metadata
from adapters.notifications.positions import metadata as positions_metadata
from adapters.partitions.tables import metadata as partitions_metadata
from projections.audit.chain import chain_metadata
from projections.tables import metadata as read_model_metadata

SCRIPTS = Path(__file__).resolve().parent
"""This package: ``env.py``, ``script.py.mako`` and the revisions in ``versions/``."""

BASELINE = "0001"
"""The revision that creates the tables as ``metadata.create_all`` made them before Alembic."""

LOCK_KEY = "backoffice-ledger:read-model-migrations:"
"""PostgreSQL advisory lock name (the schema is appended): one upgrade at a time per schema."""


class IncompleteLegacySchema(RuntimeError):
    """Some baseline tables exist without an Alembic revision, others do not: not a database
    this code's ``metadata.create_all`` made, so it is neither stamped nor created over."""


def target_metadata() -> MetaData:
    """Every table the revisions manage, as the code defines them (what autogenerate and the
    schema-equals-metadata test compare the migrated database with)."""
    combined = MetaData()
    sources = (
        read_model_metadata,
        chain_metadata,
        outbox_metadata,
        positions_metadata,
        partitions_metadata,
    )
    for source in sources:
        for table in source.tables.values():
            table.to_metadata(combined)
    return combined


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the scripts of this package and, for ``env.py``, the
    connection to run on (``config.attributes["connection"]``)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.set_main_option("truncate_slug_length", "40")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def scripts() -> ScriptDirectory:
    """The revisions (read once per process)."""
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The revision this code needs."""
    found = scripts().get_current_head()
    if found is None:  # pragma: no cover - the baseline is always there
        raise RuntimeError(f"no Alembic revision under {SCRIPTS / 'versions'}")
    return found


def version_table_schema(connection: Connection) -> str | None:
    """Where ``alembic_version`` lives: the connection's schema on PostgreSQL (the configured
    ``LEDGER_DATABASE_SCHEMA``, first on its ``search_path``), None on SQLite."""
    if connection.dialect.name != "postgresql":
        return None
    schema = connection.execute(text("SELECT current_schema()")).scalar()
    return None if schema is None else str(schema)


def is_ours(name: str | None, type_: str, _parents: Mapping[str, str | None]) -> bool:
    """Alembic's ``include_name``: which tables of the database the revisions own. The
    event tables (same PostgreSQL schema), ``ledger_schema_version`` and other files' tables
    are not: autogenerate must never propose to drop them. A table the code no longer
    defines is still compared when it is a read model's (``rm_*``) or the baseline's."""
    if type_ != "table" or name is None:
        return True
    return name in _owned() or name.startswith("rm_")


@cache
def _owned() -> frozenset[str]:
    return frozenset(target_metadata().tables) | baseline_tables()


def context_options(connection: Connection) -> dict[str, Any]:
    """The options of ``env.py``'s ``context.configure`` (every upgrade and autogenerate)."""
    return {
        "connection": connection,
        "target_metadata": target_metadata(),
        "version_table_schema": version_table_schema(connection),
        "render_as_batch": connection.dialect.name == "sqlite",  # ALTER TABLE by copy on SQLite
        "compare_type": _compare_type,
        "include_name": is_ours,
    }


def _compare_type(
    context: Any, inspected_column: Any, metadata_column: Any, inspected: Any, wanted: Any
) -> bool | None:
    """Alembic's type comparison, except that SQLite's VARCHAR length is no difference:
    SQLite ignores it, so a revision widens a column on PostgreSQL only (rebuilding a table
    on SQLite for a length it does not enforce would copy an append-only table for nothing;
    revision 0006)."""
    if (
        context.dialect.name == "sqlite"
        and isinstance(inspected, String)
        and isinstance(wanted, String)
    ):
        return False
    return None  # the default comparison


def differences(connection: Connection, metadata: MetaData | None = None) -> list[Any]:
    """What autogenerate would write between the database and ``metadata`` (default: the
    code's tables): empty when the migrated schema is the code's."""
    options = context_options(connection)
    del options["connection"], options["target_metadata"]
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, metadata or target_metadata()))


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the database, None when Alembic never ran there."""
    context = MigrationContext.configure(
        connection, opts={"version_table_schema": version_table_schema(connection)}
    )
    return context.get_current_revision()


def is_known(revision: str) -> bool:
    """True when ``revision`` is one of this code's revisions (not a newer release's)."""
    try:
        return scripts().get_revision(revision) is not None
    except CommandError:
        return False


def is_behind(revision: str | None) -> bool:
    """True when a database at ``revision`` needs ``ledger migrate`` for this code: no
    revision yet, or one of this code's revisions short of its head. A revision this code
    does not know is a newer release's (expand-only): not behind."""
    if revision is None:
        return True
    return revision != head() and is_known(revision)


def installed_revision(engine: Engine) -> str | None:
    """:func:`current_revision` on a short-lived connection (no DDL, nothing written)."""
    with engine.connect() as connection:
        return current_revision(connection)


def upgrade(engine: Engine) -> str:
    """Bring the read-model tables to :func:`head` (idempotent, one transaction under a lock,
    see the module docstring); returns the revision the database is at afterwards (a newer
    release's revision is left as it is)."""
    with engine.connect() as connection:
        _lock(connection)
        current = current_revision(connection)
        if is_behind(current):
            config = alembic_config(connection)
            if current is None and _created_before_alembic(connection):
                command.stamp(config, BASELINE)
            command.upgrade(config, "head")
            current = head()
        connection.commit()
    return str(current)


def _lock(connection: Connection) -> None:
    """Begin the upgrade's transaction holding the lock that serialises upgrades."""
    if connection.dialect.name == "postgresql":
        schema = version_table_schema(connection) or ""
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": LOCK_KEY + schema}
        )
    elif connection.dialect.name == "sqlite":
        # pysqlite begins a transaction only before DML: take the write lock now, so the DDL
        # is inside it (SQLite's DDL is transactional) and a second upgrade waits.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def baseline_tables() -> frozenset[str]:
    """The tables :data:`BASELINE` creates (its module's ``TABLES``)."""
    revision = scripts().get_revision(BASELINE)
    if revision is None:  # pragma: no cover
        raise RuntimeError(f"the baseline revision {BASELINE} is missing")
    return frozenset(revision.module.TABLES)


def _created_before_alembic(connection: Connection) -> bool:
    """True when the baseline's tables are there (``metadata.create_all`` made them: an old
    ``ledger migrate``, marked ``ledger_schema_version`` 1, or an old admin command)."""
    wanted = baseline_tables()
    present = wanted & set(inspect(connection).get_table_names())
    if not present:
        return False
    if present != wanted:
        raise IncompleteLegacySchema(
            "the read-model tables exist without an Alembic revision but "
            f"{', '.join(sorted(wanted - present))} are missing: not a schema an earlier "
            "`ledger migrate` made; restore it or migrate into an empty schema"
        )
    return True
