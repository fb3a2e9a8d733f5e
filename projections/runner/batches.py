"""A batch of events applied exactly once, and what the projector does with an event it
cannot apply (issue #12).

Exactly-once: a batch of events and the tracking positions it advances commit
in one read-model transaction. Inside that transaction the tracking rows are
locked (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the first statement
is a write, which takes the database's write lock), so two projectors, or a
rebuild running beside a projector, serialise on them:

* events at or below a projection's tracked position are skipped (re-delivery);
* a batch read *after* position ``p`` is applied to a projection only if its
  tracked position is at least ``p``; otherwise (a rebuild reset it) the
  projector re-reads from the tracked position.

No event can stop a projection: when a projection raises
:class:`ProjectionError` (or anything but a transient database error) on a batch,
the batch rolls back and is applied again event by event; the event a projection
fails on, or cannot decode, is quarantined for that projection only (a row in
``rm_quarantine``, committed with the skip and the tracking position; an ERROR
line; see :mod:`application.quarantine`), and every other projection and event
goes on. A rebuild meets the same event the same way, so it quarantines it too.
``ledger projections quarantine retry`` re-applies a parked event
(:meth:`~projections.runner.projector.Projector.retry_quarantined`). The audit chain is
never quarantined: it hashes the stored bytes and cannot fail on content.
``quarantine=False`` keeps the old strict behaviour (the batch rolls back and the error is
raised).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from opentelemetry import trace
from sqlalchemy import Connection, Engine, Insert, exc, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from application.quarantine import Parked, alert
from projections.audit.chain import ChainFollower, chain_metadata
from projections.base import Projection, ProjectionError
from projections.events import Envelope
from projections.quarantine import TRANSIENT_DB, QuarantineStore, park_in
from projections.runner.registry import PROJECTIONS
from projections.runner.sources import EventSource, UndecodableEvent
from projections.tables import metadata, rm_projection_tracking

logger = logging.getLogger(__name__)

_T = rm_projection_tracking


class BatchProjector:
    """The named projections (default: all) over the given sources, one batch at a time:
    the tables, the exactly-once batch, the tracking rows (see the module docstring).
    :class:`~projections.runner.projector.Projector` drives it over the logs."""

    def __init__(
        self,
        engine: Engine,
        sources: Sequence[EventSource],
        projections: Sequence[str] | None = None,
        batch_size: int = 500,
        *,
        poll_interval: float = 0.2,
        max_batch_delay: float = 0.02,
        event_filter: Callable[[Envelope], bool] | None = None,
        chain: bool = False,
        quarantine: bool = True,
    ) -> None:
        names = list(PROJECTIONS) if projections is None else list(projections)
        unknown = [n for n in names if n not in PROJECTIONS]
        if unknown:
            raise ValueError(f"unknown projections {unknown}; known: {sorted(PROJECTIONS)}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.engine = engine
        self.sources = list(sources)
        self._sources = {s.name: s for s in self.sources}
        if len(self._sources) != len(self.sources):
            raise ValueError("event sources must have distinct names")
        if chain and event_filter is not None:
            raise ValueError("the audit chain covers every event: no event_filter with chain")
        self.projections: list[Projection] = [PROJECTIONS[n]() for n in PROJECTIONS if n in names]
        if chain:
            self.projections.append(ChainFollower())
        self.chain = chain
        self._by_name = {p.name: p for p in self.projections}
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_batch_delay = max_batch_delay
        self.event_filter = event_filter
        self.quarantine = quarantine
        """Park what a projection cannot handle and go on (default), or stop on it."""
        self.quarantined = QuarantineStore(engine)
        self._lock = threading.RLock()  # one batch (or rebuild reset) at a time
        self._progress = threading.Condition()
        self._tables_ready = False
        self.feed_modes: dict[str, str] = {}  # source -> "subscription" | "polling" (run())

    # -- setup -----------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create every read-model table that does not exist yet (idempotent)."""
        try:
            self._create_all()
        except exc.DBAPIError:
            # Another process created them at the same moment: check again.
            self._create_all()
        self._tables_ready = True

    def _create_all(self) -> None:
        metadata.create_all(self.engine, checkfirst=True)
        if self.chain:
            chain_metadata.create_all(self.engine, checkfirst=True)

    def assume_tables(self) -> None:
        """The tables exist (``ledger migrate`` made them): never create them lazily, so a
        process start runs no DDL (two creating at once on an empty schema crash)."""
        self._tables_ready = True
        self.quarantined.assume_table()

    def _ensure_tables(self) -> None:
        if not self._tables_ready:
            self.create_tables()

    # -- processing ------------------------------------------------------------------

    def process_batch(
        self,
        context: str,
        after: int,
        envelopes: Sequence[Envelope],
        projections: Sequence[str] | None = None,
    ) -> bool:
        """Apply ``envelopes`` (read from ``context`` after position ``after``) in one transaction.

        Returns ``False`` if some projection's tracked position is below
        ``after`` (it was reset): the caller must re-read from the tracked
        positions. Already-tracked events are skipped.
        """
        if not envelopes:
            return True
        selected = self._select(projections)
        # One span per batch (non-recording, next to free, unless the process set up tracing).
        with trace.get_tracer(__name__).start_as_current_span(
            "projector.batch",
            attributes={
                "ledger.context": context,
                "ledger.projections": [p.name for p in selected],
                "ledger.events": len(envelopes),
                "ledger.position.after": after,
                "ledger.position.last": envelopes[-1].position,
            },
            # Not the exception's message in the span: it may quote an event's account number.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                in_sync = self._process_batch(context, after, envelopes, selected)
            except Exception as error:
                span.set_attribute("error.type", type(error).__qualname__)
                span.set_status(trace.StatusCode.ERROR)
                raise
            span.set_attribute("ledger.in_sync", in_sync)
            return in_sync

    def _process_batch(
        self,
        context: str,
        after: int,
        envelopes: Sequence[Envelope],
        selected: Sequence[Projection],
    ) -> bool:
        """The whole batch in one transaction; if a projection fails on it, the batch again
        event by event, so that the failing event is parked for that projection only."""
        try:
            return self._commit(context, after, envelopes, selected, {})
        except _Failed as failed:
            if not self.quarantine or not failed.projection.quarantinable:
                raise failed.error from failed.error.cause
            logger.warning(
                "projector: %s failed in %s#%d..%d; isolating the event",
                failed.projection.name,
                context,
                after + 1,
                envelopes[-1].position,
            )
        previous = after
        for envelope in envelopes:
            parked: dict[str, ProjectionError] = {}
            while True:
                try:
                    if not self._commit(context, previous, [envelope], selected, parked):
                        return False
                    break
                except _Failed as failed:
                    name = failed.projection.name
                    if not failed.projection.quarantinable or name in parked:
                        raise failed.error from failed.error.cause
                    parked[name] = failed.error
            previous = envelope.position
        return True

    def _commit(
        self,
        context: str,
        after: int,
        envelopes: Sequence[Envelope],
        selected: Sequence[Projection],
        parked: Mapping[str, ProjectionError],
    ) -> bool:
        """One transaction: each projection applies the events past its position, except
        those it cannot read and (``parked``) those it failed on, which are quarantined for
        it; every tracking position advances to the batch's last event."""
        last = envelopes[-1].position
        in_sync = True
        self._ensure_tables()
        quarantined: list[Parked] = []
        with self._lock, self.engine.begin() as conn:
            tracked = self._lock_tracking(conn, context, [p.name for p in selected])
            now = datetime.now(UTC)
            for projection in selected:
                position = tracked[projection.name]
                if position < after:
                    in_sync = False
                    continue
                if position >= last:
                    continue
                todo: list[Envelope] = []
                for e in envelopes:
                    if e.position <= position:
                        continue
                    if not e.readable and not projection.reads_raw:
                        error: ProjectionError = UndecodableEvent(
                            context, e.notification, e.event.error
                        )
                        if not self.quarantine:
                            raise error
                        quarantined.append(
                            Parked.of(projection.name, context, e.position, e.event, error)
                        )
                    elif projection.name in parked:
                        error = parked[projection.name]
                        quarantined.append(
                            Parked.of(projection.name, context, e.position, e.event, error)
                        )
                    elif self.event_filter is None or not e.readable or self.event_filter(e):
                        todo.append(e)
                if todo:
                    self._apply(conn, projection, todo)
                conn.execute(
                    update(_T)
                    .where(_T.c.projection == projection.name, _T.c.context == context)
                    .values(position=last, updated_at=now)
                )
            for entry in quarantined:
                park_in(conn, entry, now)
        for entry in quarantined:
            alert(entry)
        with self._progress:
            self._progress.notify_all()
        return in_sync

    def _apply(self, conn: Connection, projection: Projection, todo: Sequence[Envelope]) -> None:
        try:
            projection.apply(conn, todo)
        except TRANSIENT_DB:
            raise  # the database went away or timed out: transient, the caller may retry
        except ProjectionError as error:
            raise _Failed(projection, error) from error
        except Exception as error:
            envelope = todo[0] if len(todo) == 1 else None
            raise _Failed(projection, ProjectionError(projection.name, envelope, error)) from error

    # -- helpers ---------------------------------------------------------------------

    def _select(self, names: Sequence[str] | None) -> list[Projection]:
        if names is None:
            return self.projections
        wanted = set(names)
        known = [*PROJECTIONS, *(p.name for p in self.projections if p.name not in PROJECTIONS)]
        selected = [self._by_name.get(n) or PROJECTIONS[n]() for n in known if n in wanted]
        if len(selected) != len(wanted):
            raise ValueError(f"unknown projections in {sorted(wanted)}")
        return selected

    def _positions(self, context: str, names: Sequence[str]) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_T.c.projection, _T.c.position).where(
                    _T.c.context == context, _T.c.projection.in_(list(names))
                )
            ).all()
        found = {p: int(pos) for p, pos in rows}
        return {n: found.get(n, 0) for n in names}

    def _lock_tracking(
        self, conn: Connection, context: str, names: Sequence[str]
    ) -> dict[str, int]:
        """Create missing tracking rows, lock them for this transaction, return the positions.

        The first statement is a write, so on SQLite the transaction holds the
        write lock before it reads anything.
        """
        conn.execute(
            _insert_ignore(conn),
            [
                {"projection": n, "context": context, "position": 0, "updated_at": None}
                for n in names
            ],
        )
        rows = conn.execute(
            select(_T.c.projection, _T.c.position)
            .where(_T.c.context == context, _T.c.projection.in_(list(names)))
            .order_by(_T.c.projection)  # one lock order for every projector: no deadlocks
            .with_for_update()
        ).all()
        return {p: int(pos) for p, pos in rows}


class _Failed(Exception):
    """Internal: ``projection`` raised on a batch (carries its :class:`ProjectionError`)."""

    def __init__(self, projection: Projection, error: ProjectionError) -> None:
        super().__init__(str(error))
        self.projection = projection
        self.error = error


def _insert_ignore(conn: Connection) -> Insert:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return pg_insert(_T).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(_T).on_conflict_do_nothing()
    return insert(_T).prefix_with("IGNORE")  # MySQL family; not a supported backend
