"""Where events and read models live: SQLite files (embedded default) or PostgreSQL.

* Events: eventsourcing's own recorders. SQLite: one file per bounded context
  under the data directory (SQLite has one writer per file, and contexts write
  independently). PostgreSQL: eventsourcing's native ``postgres`` module
  (psycopg 3), one table per context, in ``schema`` when one is given.
* Read models: SQLAlchemy 2 on ``read-models.sqlite`` or on the same
  PostgreSQL database and schema.

Both take every libpq parameter of ``LEDGER_DATABASE_URL`` (:func:`pg_params`): several
hosts with ``target_session_attrs``, and TLS (``sslmode=verify-full`` with ``sslrootcert``,
client certificates with ``sslcert``/``sslkey``). Dropping them once meant a server
certificate that was never verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL

from adapters.pg_event_store import LIBPQ_FACTORY_TOPIC, LIBPQ_PARAMS, libpq_extra
from adapters.sqlite_event_store import VERSIONED_SQLITE_RECORDER_TOPIC


@dataclass(frozen=True)
class DatabaseConfig:
    """``url`` set (``postgresql://user:pw@host:port/db``) selects PostgreSQL."""

    data_dir: Path
    url: str | None = None
    schema: str | None = None
    pool_size: int = 5

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    @property
    def label(self) -> str:
        return "postgres" if self.is_postgres else "sqlite"


POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
DEFAULT_CONNECT_TIMEOUT = "10"
"""libpq's wait for one host to answer (seconds) unless the URL says otherwise: with several
hosts, a host that does not answer costs this much before the next is tried."""


class DatabaseUnreachable(RuntimeError):
    """PostgreSQL could not be reached or refused us (TLS, authentication, no such database):
    the message says which hosts, with which ``sslmode``, and libpq's reason."""


def pg_params(url: str) -> dict[str, str]:
    """Every libpq connection parameter of a ``postgresql://`` URL, parsed by libpq itself
    (through psycopg): several hosts (``h1:5432,h2:5433``), and query parameters such as
    ``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey``, ``target_session_attrs`` and
    ``connect_timeout`` are kept, never dropped. Defaults: host 127.0.0.1, port 5432, user and
    database ``postgres``, ``connect_timeout`` :data:`DEFAULT_CONNECT_TIMEOUT`. Raises
    ValueError for another scheme or a parameter libpq does not know."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in POSTGRES_SCHEMES:
        raise ValueError(f"LEDGER_DATABASE_URL must be a postgresql:// URL, got {scheme!r}")
    try:
        parsed = conninfo_to_dict(f"postgresql://{rest}")
    except ProgrammingError as error:
        raise ValueError(f"LEDGER_DATABASE_URL: {error}") from None
    params = {key: str(value) for key, value in parsed.items() if value is not None}
    params.setdefault("host", "127.0.0.1")
    params.setdefault("port", "5432")
    params.setdefault("user", "postgres")
    params.setdefault("dbname", "postgres")
    params.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    return params


def describe_target(params: dict[str, str]) -> str:
    """Hosts, database and TLS mode of ``params``, for messages (no password)."""
    hosts, ports = params["host"].split(","), params["port"].split(",")
    if len(ports) == 1:
        ports = ports * len(hosts)
    where = ",".join(f"{h}:{p}" for h, p in zip(hosts, ports, strict=False))
    return f"{where}/{params['dbname']} (sslmode={params.get('sslmode', 'prefer')})"


def event_store_env(config: DatabaseConfig, context: str) -> dict[str, str]:
    """The eventsourcing environment for the application of bounded context ``context``."""
    if config.url is None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(config.data_dir / f"{context}-events.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "30",
            # eventsourcing's recorder that also answers application.ports.StoredVersions
            "APPLICATION_RECORDER_TOPIC": VERSIONED_SQLITE_RECORDER_TOPIC,
        }
    pg = pg_params(config.url)
    env = {
        # eventsourcing's PostgreSQL factory, passing on every libpq parameter it does not
        # take from POSTGRES_* itself (adapters/pg_event_store.py)
        "PERSISTENCE_MODULE": LIBPQ_FACTORY_TOPIC,
        "POSTGRES_DBNAME": pg["dbname"],
        "POSTGRES_HOST": pg["host"],  # "h1,h2" with several hosts: libpq's own list
        "POSTGRES_PORT": pg["port"],
        "POSTGRES_USER": pg["user"],
        "POSTGRES_PASSWORD": pg.get("password", ""),
        LIBPQ_PARAMS: libpq_extra(pg),
        "POSTGRES_POOL_SIZE": str(config.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(config.pool_size),
        # Also the pool's wait for a connection; eventsourcing retries a failed statement
        # ten times, so an outage surfaces after about ten times this.
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # A ping per pooled connection checkout costs a round trip per query;
        # eventsourcing retries a statement that fails on a dropped connection.
        "POSTGRES_PRE_PING": "n",
        # Never POSTGRES_ENABLE_DB_FUNCTIONS: it drops the table lock that keeps
        # notification ids in commit order for the projections (ARCHITECTURE 5).
    }
    if config.schema:
        env["POSTGRES_SCHEMA"] = config.schema
    return env


def read_model_engine(config: DatabaseConfig) -> Engine:
    """SQLAlchemy engine for the read models."""
    if config.url is None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return sqlite_engine(config.data_dir / "read-models.sqlite")
    # Every libpq parameter as a keyword of psycopg.connect (an empty URL): several hosts,
    # sslmode, sslrootcert ... reach libpq as they are; SQLAlchemy's URL has no room for them.
    connect_args: dict[str, Any] = _with_schema(pg_params(config.url), config.schema)
    return create_engine(
        URL.create("postgresql+psycopg"),
        pool_size=config.pool_size,
        max_overflow=config.pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def sqlite_engine(path: Path) -> Engine:
    """A SQLite engine in WAL mode, so readers never block the projector's writes."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def ensure_schema(config: DatabaseConfig, *, create: bool = True) -> None:
    """Connect once (so a wrong URL, certificate or password fails here, with
    :class:`DatabaseUnreachable` saying why, rather than as a pool timeout later) and, unless
    ``create`` is False (a process start: no DDL outside ``ledger migrate``), create the
    PostgreSQL schema named in ``config`` if it does not exist."""
    if config.url is None:
        return
    pg = pg_params(config.url)
    try:
        with psycopg.connect(make_conninfo("", **pg), autocommit=True) as conn:
            if config.schema and create:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{config.schema}"')
    except psycopg.OperationalError as error:
        raise DatabaseUnreachable(
            f"cannot connect to PostgreSQL at {describe_target(pg)}: {error}"
        ) from None


def _with_schema(params: dict[str, str], schema: str | None) -> dict[str, str]:
    """``params`` with ``search_path`` set to ``schema`` (after any ``options`` of the URL)."""
    if not schema:
        return dict(params)
    options = f"{params.get('options', '')} -csearch_path={schema}".strip()
    return {**params, "options": options}
