"""Alembic's environment script: runs on the connection the caller put in
``config.attributes["connection"]`` (:func:`adapters.migrations.alembic_config`), with the
options of :func:`adapters.migrations.context_options`. There is no offline (SQL script) mode."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from adapters.migrations import context_options

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "adapters/migrations runs on a connection: use adapters.migrations.upgrade(engine) "
        "or `python -m adapters.migrations`, not the alembic command line"
    )
context.configure(**context_options(connection))
with context.begin_transaction():
    context.run_migrations()
