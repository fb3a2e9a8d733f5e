"""The parking table of quarantined events (``rm_quarantine``) and its store.

One row per (follower, context, position): which follower could not handle which event of
which log, why (error type and message), since when, how often, and whether it is still
``open`` or ``resolved`` (by a retry, or by a rebuild that reached it again). The projector
parks in its own batch transaction (the row, the skip and the tracking position commit
together); the other followers park through :meth:`QuarantineStore.park` (own transaction).
Parking the same event again (a rebuild, another process, a failed retry) counts an attempt.

Operational data, like the tracking rows: not a read model (never in a dump or a replay
comparison), never reset with a projection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    exc,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from application.quarantine import TRANSIENT, Parked
from projections.tables import UtcDateTime, metadata

OPEN = "open"
RESOLVED = "resolved"

rm_quarantine = Table(
    "rm_quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("follower", String(128), nullable=False),
    Column("context", String(64), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("originator_id", String(255), nullable=False),
    Column("originator_version", BigInteger, nullable=False),
    Column("topic", Text, nullable=False),
    Column("error_type", String(255), nullable=False),
    Column("error", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolution", String(32)),
    UniqueConstraint("follower", "context", "position", name="uq_rm_quarantine_event"),
    Index("ix_rm_quarantine_status", "status", "follower", "context", "position"),
)

TRANSIENT_DB: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    *TRANSIENT,
)
"""The database went away or timed out: retried, never a reason to quarantine."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of ``rm_quarantine``."""

    id: int
    follower: str
    context: str
    position: int
    originator_id: str
    originator_version: int
    topic: str
    error_type: str
    error: str
    status: str
    attempts: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    resolution: str | None


def park_in(conn: Connection, parked: Parked, now: datetime | None = None) -> None:
    """Record ``parked`` in the caller's transaction (open again, one more attempt, if known)."""
    now = now or datetime.now(UTC)
    values = {
        "follower": parked.follower,
        "context": parked.context,
        "position": parked.position,
        "originator_id": parked.originator_id[:255],
        "originator_version": parked.originator_version,
        "topic": parked.topic,
        "error_type": parked.error_type[:255],
        "error": parked.error,
        "status": OPEN,
        "attempts": 1,
        "first_seen": now,
        "last_seen": now,
        "resolved_at": None,
        "resolution": None,
    }
    t = rm_quarantine
    insert = pg_insert(t) if conn.dialect.name == "postgresql" else sqlite_insert(t)
    stmt = insert.values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.follower, t.c.context, t.c.position],
            set_={
                "error_type": stmt.excluded.error_type,
                "error": stmt.excluded.error,
                "status": OPEN,
                "attempts": t.c.attempts + 1,
                "last_seen": stmt.excluded.last_seen,
                "resolved_at": None,
                "resolution": None,
            },
        )
    )


def resolve_in(
    conn: Connection, entry_id: int, resolution: str, now: datetime | None = None
) -> None:
    """Mark entry ``entry_id`` resolved in the caller's transaction."""
    conn.execute(
        update(rm_quarantine)
        .where(rm_quarantine.c.id == entry_id, rm_quarantine.c.status == OPEN)
        .values(
            status=RESOLVED,
            resolved_at=now or datetime.now(UTC),
            resolution=resolution,
            attempts=rm_quarantine.c.attempts + 1,
            last_seen=now or datetime.now(UTC),
        )
    )


def close_for_rebuild(conn: Connection, follower: str) -> None:
    """A projection is rebuilt from zero: its open entries are settled by the rebuild (an
    event that still fails is parked again on the way)."""
    now = datetime.now(UTC)
    conn.execute(
        update(rm_quarantine)
        .where(rm_quarantine.c.follower == follower, rm_quarantine.c.status == OPEN)
        .values(status=RESOLVED, resolved_at=now, resolution="rebuild")
    )


@dataclass
class RetryReport:
    resolved: list[int]
    failed: dict[int, str]
    skipped: dict[int, str]


class QuarantineStore:
    """The :class:`~application.quarantine.Quarantine` port on the read-model database."""

    def __init__(self, engine: Engine, *, table_exists: bool = False) -> None:
        """``table_exists``: ``ledger migrate`` made the table; never create it lazily."""
        self.engine = engine
        self._ready = table_exists

    def create_table(self) -> None:
        metadata.create_all(self.engine, tables=[rm_quarantine], checkfirst=True)
        self._ready = True

    def assume_table(self) -> None:
        """The table exists (``ledger migrate`` made it): never create it lazily."""
        self._ready = True

    def _ensure(self) -> None:
        if not self._ready:
            try:
                self.create_table()
            except exc.DBAPIError:  # created by another process at the same moment
                self.create_table()

    def park(self, parked: Parked) -> None:
        self._ensure()
        with self.engine.begin() as conn:
            park_in(conn, parked)

    def entries(
        self, *, status: str | None = OPEN, ids: Iterable[int] | None = None
    ) -> list[Entry]:
        """Entries in log order (context, position, follower); ``status`` None: all."""
        self._ensure()
        t = rm_quarantine
        query = select(t).order_by(t.c.context, t.c.position, t.c.follower)
        if status is not None:
            query = query.where(t.c.status == status)
        if ids is not None:
            query = query.where(t.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [Entry(**row._mapping) for row in conn.execute(query)]

    def open_counts(self) -> dict[tuple[str, str], int]:
        """Open entries per (follower, context)."""
        self._ensure()
        t = rm_quarantine
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.follower, t.c.context, func.count())
                .where(t.c.status == OPEN)
                .group_by(t.c.follower, t.c.context)
            ).all()
        return {(str(f), str(c)): int(n) for f, c, n in rows}

    def resolve(self, entry_id: int, resolution: str = "retry") -> None:
        with self.engine.begin() as conn:
            resolve_in(conn, entry_id, resolution)

    def failed_again(self, entry_id: int, error: BaseException) -> None:
        """A retry failed: one more attempt, the new error."""
        t = rm_quarantine
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == entry_id)
                .values(
                    error_type=type(getattr(error, "cause", None) or error).__qualname__,
                    error=str(error)[:2000],
                    attempts=t.c.attempts + 1,
                    last_seen=datetime.now(UTC),
                )
            )

    def retry(
        self,
        entries: Sequence[Entry],
        handlers: Callable[[Entry], Callable[[Entry], Any] | None],
    ) -> RetryReport:
        """Retry ``entries`` in log order with the handler of each one's follower.

        A handler re-applies the event; it returns normally when the event was handled (and
        may resolve the entry in its own transaction), raises when it still fails (the entry
        stays open, one attempt more). Entries whose follower has no handler here are skipped.
        Transient errors are raised.
        """
        report = RetryReport([], {}, {})
        for entry in sorted(entries, key=lambda e: (e.context, e.position, e.follower)):
            if entry.status != OPEN:
                report.skipped[entry.id] = f"already {entry.status}"
                continue
            handler = handlers(entry)
            if handler is None:
                report.skipped[entry.id] = f"no retry for {entry.follower!r} in this process"
                continue
            try:
                handler(entry)
            except TRANSIENT_DB:
                raise
            except Exception as error:
                self.failed_again(entry.id, error)
                cause = getattr(error, "cause", None) or error
                report.failed[entry.id] = f"{type(cause).__qualname__}: {error}"[:500]
                continue
            self.resolve(entry.id)
            report.resolved.append(entry.id)
        return report
