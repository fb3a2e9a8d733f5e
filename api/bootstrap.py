"""The composition root: the one place that wires ports to adapters.

``bootstrap(settings)`` builds, in order: the database configuration (creating the PostgreSQL
schema when one is named), the ledger application with the rules screening from the settings,
the read-model engine, the queries, and the projector with its tables. Everything is built
when the function is called, never at import time, and :meth:`Container.close` releases it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from adapters.messaging.outbox import create_outbox_tables
from adapters.persistence import DatabaseConfig, ensure_schema, event_store_env, read_model_engine
from api.settings import Settings
from application.ledger import LedgerApplication, utc_now
from application.ports import Clock
from application.screening import RulesScreening
from projections.queries import LedgerQueries
from projections.runner import EventSource, Projector


@dataclass
class Container:
    """Everything a process role needs, built once per process (or per test)."""

    settings: Settings
    database: DatabaseConfig
    ledger: LedgerApplication
    read_engine: Engine
    queries: LedgerQueries
    projector: Projector
    sources: list[EventSource]
    projector_active: bool = False
    """True while a projector (thread here, or another process for role ``api``) follows the
    log, so a write may wait for its read models (read-your-writes) before answering."""
    _closed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def applications(self) -> dict[str, Any]:
        """The event-sourced applications by context name (one per bounded context)."""
        return {self.ledger.name: self.ledger}

    def heads(self) -> dict[str, int]:
        """The last notification id of every context's event log (0 when empty)."""
        return {
            name: app.recorder.max_notification_id() or 0 for name, app in self.applications.items()
        }

    def wait_for_projections(self, timeout: float = 2.0) -> bool:
        """Wait until the read models include everything recorded so far (read-your-writes).

        Returns False at once when no projector is following the log, and after ``timeout``.
        """
        if not self.projector_active:
            return False
        return bool(self.projector.wait_for(self.heads(), timeout))

    def check_database(self) -> None:
        """Raise if the event store or the read-model database cannot be reached."""
        self.heads()
        with self.read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.ledger.close()
        self.read_engine.dispose()


def build_ledger(settings: Settings, database: DatabaseConfig, clock: Clock) -> LedgerApplication:
    return LedgerApplication(
        env=event_store_env(database, "ledger"),
        screening=RulesScreening(settings.amount_limits()),
        clock=clock,
    )


def bootstrap(settings: Settings, *, clock: Clock | None = None) -> Container:
    """Build the container for ``settings``; ``clock`` is injectable for tests and demos."""
    database = settings.database()
    ensure_schema(database)
    ledger = build_ledger(settings, database, clock or utc_now)
    try:
        engine = read_model_engine(database)
        sources = [EventSource(ledger)]
        projector = Projector(
            engine,
            sources,
            batch_size=settings.projector_batch_size,
            poll_interval=settings.projector_poll_interval,
        )
        projector.create_tables()
        create_outbox_tables(engine)
        queries = LedgerQueries(engine)
    except BaseException:
        ledger.close()
        raise
    return Container(
        settings=settings,
        database=database,
        ledger=ledger,
        read_engine=engine,
        queries=queries,
        projector=projector,
        sources=sources,
    )
