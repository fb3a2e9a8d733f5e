"""Is the database this process talks to writable? (issue #19: read-only mode and failover)

A hot standby (the secondary region's replica, or a node of the local HA cluster before its
promotion) and a session with ``default_transaction_read_only`` refuse every write with
SQLSTATE ``25006`` (``read_only_sql_transaction``): "cannot execute INSERT in a read-only
transaction", "cannot execute LOCK TABLE during recovery". The error reaches the edge wrapped
by eventsourcing (``eventsourcing.persistence.InternalError``) or SQLAlchemy
(``sqlalchemy.exc.InternalError``): :func:`is_read_only_error` looks along the chain of causes
for it, so the API answers 503 ``DATABASE_READ_ONLY`` instead of a 500;
:func:`is_unavailable_error` recognises a database that cannot be reached (503
``DATABASE_UNAVAILABLE``, to be retried: a failover under way).
:func:`writability` is the deep readiness check's question to the server itself.
"""

from __future__ import annotations

import psycopg
import sqlalchemy.exc
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from sqlalchemy import Engine, text

READ_ONLY_SQLSTATE = "25006"
"""PostgreSQL's ``read_only_sql_transaction``."""

_MAX_CHAIN = 16
"""Causes looked at (a chain is short; a cycle must not loop)."""


def is_read_only_error(error: BaseException) -> bool:
    """True when ``error`` or one of its causes is PostgreSQL's refusal to write in a
    read-only transaction or on a standby (SQLSTATE 25006)."""
    seen: BaseException | None = error
    for _ in range(_MAX_CHAIN):
        if seen is None:
            return False
        if getattr(seen, "sqlstate", None) == READ_ONLY_SQLSTATE:
            return True
        orig = getattr(seen, "orig", None)  # sqlalchemy.exc.DBAPIError keeps the driver's
        if (
            isinstance(orig, BaseException)
            and getattr(orig, "sqlstate", None) == READ_ONLY_SQLSTATE
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,  # connection refused or lost, server shutting down (57P01) ...
    psycopg.InterfaceError,
    StoreOperationalError,  # eventsourcing's, after its ten retries
    StoreInterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection came back in time
)


def is_unavailable_error(error: BaseException) -> bool:
    """True when ``error`` or one of its causes says the database could not be reached or
    dropped the session (the moments of a failover: the old primary gone, the new one not
    promoted yet), as opposed to a statement the database refused."""
    seen: BaseException | None = error
    for _ in range(_MAX_CHAIN):
        if seen is None:
            return False
        if isinstance(seen, UNAVAILABLE_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def writability(engine: Engine) -> dict[str, bool]:
    """``{"writable": ..., "standby": ...}`` of the database behind ``engine``: a standby
    (``pg_is_in_recovery()``) or a read-only default refuses writes. SQLite is writable."""
    if engine.dialect.name != "postgresql":
        return {"writable": True, "standby": False}
    with engine.connect() as connection:
        standby, read_only = connection.execute(
            text("SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')")
        ).one()
    return {"writable": not standby and read_only != "on", "standby": bool(standby)}


def is_read_only_database(engine: Engine) -> bool:
    """True when the database behind ``engine`` refuses writes (:func:`writability`)."""
    return not writability(engine)["writable"]
