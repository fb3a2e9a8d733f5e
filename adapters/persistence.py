"""Where events and read models live: SQLite files (embedded default) or PostgreSQL.

* Events: eventsourcing's own recorders. SQLite: one file per bounded context
  under the data directory (SQLite has one writer per file, and contexts write
  independently). PostgreSQL: eventsourcing's native ``postgres`` module
  (psycopg 3), one table per context, in ``schema`` when one is given.
* Read models: SQLAlchemy 2 on ``read-models.sqlite`` or on the same
  PostgreSQL database and schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL


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


def _pg_parts(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
        raise ValueError(f"LEDGER_DATABASE_URL must be a postgresql:// URL, got {parts.scheme!r}")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": (parts.path or "/postgres").lstrip("/") or "postgres",
    }


def event_store_env(config: DatabaseConfig, context: str) -> dict[str, str]:
    """The eventsourcing environment for the application of bounded context ``context``."""
    if config.url is None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(config.data_dir / f"{context}-events.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    pg = _pg_parts(config.url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": pg["dbname"],
        "POSTGRES_HOST": pg["host"],
        "POSTGRES_PORT": str(pg["port"]),
        "POSTGRES_USER": pg["user"],
        "POSTGRES_PASSWORD": pg["password"],
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
    pg = _pg_parts(config.url)
    url = URL.create(
        "postgresql+psycopg",
        username=pg["user"],
        password=pg["password"] or None,
        host=pg["host"],
        port=pg["port"],
        database=pg["dbname"],
    )
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if config.schema:
        connect_args["options"] = f"-csearch_path={config.schema}"
    return create_engine(
        url,
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


def ensure_schema(config: DatabaseConfig) -> None:
    """Create the PostgreSQL schema named in ``config`` if it does not exist."""
    if config.url is None or not config.schema:
        return
    import psycopg

    pg = _pg_parts(config.url)
    with psycopg.connect(
        host=pg["host"],
        port=pg["port"],
        user=pg["user"],
        password=pg["password"] or None,
        dbname=pg["dbname"],
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{config.schema}"')
