"""The projector: feeds the event logs of the bounded contexts to the projections.

Exactly-once: a batch of events and the tracking positions it advances commit
in one read-model transaction. Inside that transaction the tracking rows are
locked (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the first statement
is a write, which takes the database's write lock), so two projectors, or a
rebuild running beside a projector, serialise on them:

* events at or below a projection's tracked position are skipped (re-delivery);
* a batch read *after* position ``p`` is applied to a projection only if its
  tracked position is at least ``p``; otherwise (a rebuild reset it) the
  projector re-reads from the tracked position.

No event can stop a projection (issue #12): when a projection raises
:class:`ProjectionError` (or anything but a transient database error) on a batch,
the batch rolls back and is applied again event by event; the event a projection
fails on, or cannot decode, is quarantined for that projection only (a row in
``rm_quarantine``, committed with the skip and the tracking position; an ERROR
line; see :mod:`application.quarantine`), and every other projection and event
goes on. A rebuild meets the same event the same way, so it quarantines it too.
``ledger projections quarantine retry`` re-applies a parked event
(:meth:`Projector.retry_quarantined`). The audit chain is never quarantined: it
hashes the stored bytes and cannot fail on content. ``quarantine=False`` keeps the
old strict behaviour (the batch rolls back and the error is raised).

Following the log (:meth:`Projector.run`): one feeder thread per source pushes
notifications into a queue; on PostgreSQL the feeder follows the log through
the recorder's LISTEN/NOTIFY subscription, on SQLite (no subscriptions) it
polls ``select_notifications``. The main loop decodes and batches by size and
time. No database transaction is held open while waiting.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from time import monotonic
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Subscription
from opentelemetry import trace
from sqlalchemy import Connection, Engine, Insert, exc, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from application.quarantine import Parked, alert, read_event
from projections.audit.chain import ChainFollower, chain_metadata
from projections.audit.trail import AuditProjection
from projections.base import Projection, ProjectionError, chunked
from projections.events import Envelope
from projections.fraud.read_model import FraudProjection
from projections.identity.read_model import IdentityProjection
from projections.ledger.accounts import AccountsProjection
from projections.ledger.transactions import TransactionsProjection
from projections.notifications.read_model import NotificationsProjection
from projections.quarantine import (
    TRANSIENT_DB,
    Entry,
    QuarantineStore,
    close_for_rebuild,
    park_in,
    resolve_in,
)
from projections.reconciliation.read_model import ReconciliationProjection
from projections.tables import metadata, rm_projection_tracking
from projections.views import ProjectionStatus

logger = logging.getLogger(__name__)

PROJECTIONS: dict[str, type[Projection]] = {
    AccountsProjection.name: AccountsProjection,
    TransactionsProjection.name: TransactionsProjection,
    AuditProjection.name: AuditProjection,
    FraudProjection.name: FraudProjection,  # after transactions: it reads rm_transactions
    IdentityProjection.name: IdentityProjection,
    NotificationsProjection.name: NotificationsProjection,
    ReconciliationProjection.name: ReconciliationProjection,
}
"""Every projection by name, in the order the projector applies them."""

_T = rm_projection_tracking
_IDLE_WAIT = 0.1  # how often the follow loop looks at its stop event when idle


class UndecodableEvent(ProjectionError):
    """A stored event could not be turned back into a domain event."""

    def __init__(
        self, context: str, notification: Notification | None, cause: BaseException
    ) -> None:
        where = (
            f"{context}#{notification.id} ({notification.topic} of "
            f"{notification.originator_id} v{notification.originator_version})"
            if notification is not None
            else context
        )
        RuntimeError.__init__(self, f"cannot decode {where}: {cause!r}")
        self.projection = "*"
        self.envelope = None
        self.cause = cause


class EventSource:
    """The notification log of one bounded context's eventsourcing ``Application``."""

    def __init__(self, app: Application[Any], name: str | None = None) -> None:
        self.app = app
        self.name: str = name or app.name

    def read(
        self, after: int, limit: int, stop: int | None = None, *, tolerant: bool = False
    ) -> list[Envelope]:
        """Up to ``limit`` events with notification ids above ``after`` (and <= ``stop``);
        ``tolerant``: an event that cannot be decoded comes as an
        :class:`~application.quarantine.Unreadable` envelope instead of raising."""
        decode = self.envelope if tolerant else self.decode
        return [decode(n) for n in self.notifications(after, limit, stop)]

    def notifications(self, after: int, limit: int, stop: int | None = None) -> list[Notification]:
        return list(self.app.recorder.select_notifications(start=after + 1, limit=limit, stop=stop))

    def decode(self, notification: Notification) -> Envelope:
        try:
            event = self.app.mapper.to_domain_event(notification)
        except Exception as error:
            raise UndecodableEvent(self.name, notification, error) from error
        return Envelope(self.name, notification.id, event, notification)

    def envelope(self, notification: Notification) -> Envelope:
        """``notification`` decoded, or (when it cannot be) an unreadable envelope."""
        return Envelope(
            self.name, notification.id, read_event(self.app.mapper, notification), notification
        )

    def head(self) -> int:
        """The last notification id in the log (0 when empty)."""
        return int(self.app.recorder.max_notification_id() or 0)

    def subscribe(self, after: int) -> Subscription[Any]:
        """A LISTEN/NOTIFY subscription from ``after``; ``NotImplementedError`` on SQLite."""
        return self.app.recorder.subscribe(gt=after)


class Projector:
    """Runs the named projections (default: all) over the given sources.

    ``event_filter`` (used by replay) limits which events reach the
    projections; filtered-out events still advance the tracking position.

    ``chain=True`` also runs the :class:`~projections.audit.chain.ChainFollower` (tracked as
    ``"chain"``), which extends the tamper-evidence hash chain in the same transactions.
    It sees every event, so it cannot be combined with ``event_filter``.
    """

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

    def catch_up(
        self,
        until: Mapping[str, int] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Process every source up to its head (or ``until[context]``); returns events read.

        ``progress(done, total)`` is called after each batch.
        """
        self._ensure_tables()
        heads = {s.name: s.head() if until is None else until.get(s.name, 0) for s in self.sources}
        total = sum(heads.values())
        done = 0
        for source in self.sources:
            done += self._catch_up(
                source, self.projections, heads[source.name], _reporter(progress, done, total)
            )
        return done

    def _catch_up(
        self,
        source: EventSource,
        projections: Sequence[Projection],
        until: int,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        names = [p.name for p in projections]
        processed = 0
        while True:
            after = min(self._positions(source.name, names).values())
            if after >= until:
                return processed
            batch = source.read(after, self.batch_size, stop=until, tolerant=self.quarantine)
            if not batch:
                return processed
            self.process_batch(source.name, after, batch, names)
            processed += len(batch)
            if progress is not None:
                progress(processed)

    def rebuild(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Delete ``name``'s rows and tracking, then reprocess every source from zero.

        ``progress(done, total)`` is called after each batch. Returns the
        number of events processed.
        """
        if name not in PROJECTIONS:
            raise ValueError(f"unknown projection {name!r}; known: {sorted(PROJECTIONS)}")
        projection = self._by_name.get(name) or PROJECTIONS[name]()
        self._ensure_tables()
        with self._lock, self.engine.begin() as conn:
            for source in self.sources:
                self._lock_tracking(conn, source.name, [name])
            projection.reset(conn)
            close_for_rebuild(conn, name)
            conn.execute(
                update(_T)
                .where(_T.c.projection == name)
                .values(position=0, updated_at=datetime.now(UTC))
            )
        logger.info("projection %s reset; rebuilding from zero", name)
        heads = {s.name: s.head() for s in self.sources}
        total = sum(heads.values())
        done = 0
        if progress is not None:
            progress(0, total)
        for source in self.sources:
            done += self._catch_up(
                source, [projection], heads[source.name], _reporter(progress, done, total)
            )
        if progress is not None:
            progress(total, total)
        logger.info("projection %s rebuilt from %d events", name, done)
        return done

    # -- following the log -----------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Follow every source until ``stop`` is set.

        Errors are logged and retried with back-off (an event a projection cannot
        handle is quarantined, see the module docstring, so what remains is the database
        or a failure of the audit chain). With ``quarantine=False`` a
        :class:`ProjectionError` is logged and raised (the projector stops).
        """
        self._ensure_tables()
        backoff = 0.5
        logger.info(
            "projector started: %s over %s",
            [p.name for p in self.projections],
            [s.name for s in self.sources],
        )
        while not stop.is_set():
            try:
                self._follow(stop)
                backoff = 0.5
            except ProjectionError:
                if not self.quarantine:
                    logger.exception("projector stopped on an event it cannot apply")
                    raise
                logger.exception("projector: batch failed; retry in %.1fs", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception:
                logger.exception(
                    "projector: error following the event log; retry in %.1fs", backoff
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        logger.info("projector stopped")

    def _follow(self, stop: threading.Event) -> None:
        """Feed the sources until ``stop`` or until a reset tracking position needs a re-read."""
        names = [p.name for p in self.projections]
        cursors = {s.name: min(self._positions(s.name, names).values()) for s in self.sources}
        inbox = _Inbox(capacity=4 * self.batch_size, batch_size=self.batch_size)
        feeders = [
            _Feeder(s, cursors[s.name], inbox, self.batch_size, self.poll_interval, self.feed_modes)
            for s in self.sources
        ]
        for feeder in feeders:
            feeder.start()
        try:
            while True:
                if stop.is_set():
                    self._flush(inbox.take(len(inbox), 0.0, 0.0), cursors)
                    return
                taken = inbox.take(self.batch_size, _IDLE_WAIT, self.max_batch_delay)
                if taken and not self._flush(taken, cursors):
                    logger.info("tracking position was reset; re-reading the log")
                    return
        finally:
            for feeder in feeders:
                feeder.stop()
            for feeder in feeders:
                feeder.join(timeout=10)

    def _flush(self, taken: list[tuple[str, Notification]], cursors: dict[str, int]) -> bool:
        pending: dict[str, list[Notification]] = {}
        for name, notification in taken:
            pending.setdefault(name, []).append(notification)
        for name, notifications in pending.items():
            source = self._sources[name]
            for chunk in chunked(notifications, self.batch_size):
                decode = source.envelope if self.quarantine else source.decode
                envelopes = [decode(n) for n in chunk]
                if not self.process_batch(name, cursors[name], envelopes):
                    return False
                cursors[name] = chunk[-1].id
        return True

    # -- positions -------------------------------------------------------------------

    def positions(self) -> dict[tuple[str, str], int]:
        """Tracked position per ``(projection, context)`` of this projector (0 if none)."""
        self._ensure_tables()
        names = [p.name for p in self.projections]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_T.c.projection, _T.c.context, _T.c.position).where(
                    _T.c.projection.in_(names)
                )
            ).all()
        found = {(p, c): int(pos) for p, c, pos in rows}
        return {(n, s.name): found.get((n, s.name), 0) for n in names for s in self.sources}

    def status(self) -> list[ProjectionStatus]:
        """Position, head and lag of every projection over every source."""
        self._ensure_tables()
        names = [p.name for p in self.projections]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_T.c.projection, _T.c.context, _T.c.position, _T.c.updated_at).where(
                    _T.c.projection.in_(names)
                )
            ).all()
        found = {(p, c): (int(pos), at) for p, c, pos, at in rows}
        heads = {s.name: s.head() for s in self.sources}
        result = []
        for name in names:
            for source in self.sources:
                position, at = found.get((name, source.name), (0, None))
                result.append(
                    ProjectionStatus(
                        name=name,
                        position=position,
                        head=heads[source.name],
                        updated_at=at,
                        context=source.name,
                    )
                )
        return result

    def wait_for(self, position_by_context: Mapping[str, int], timeout: float) -> bool:
        """Wait until every projection reached the given position of each context."""
        deadline = monotonic() + timeout
        while True:
            current = self.positions()
            if all(
                current.get((p.name, context), 0) >= position
                for p in self.projections
                for context, position in position_by_context.items()
            ):
                return True
            remaining = deadline - monotonic()
            if remaining <= 0:
                return False
            with self._progress:
                self._progress.wait(min(remaining, 0.05))

    # -- quarantine ------------------------------------------------------------------

    def retry_quarantined(self, entry: Entry) -> None:
        """Apply the parked event of ``entry`` (a projection's) to its projection again and
        resolve the entry in the same transaction; raises if it still fails.

        The event is applied out of order (the projection went on past it): fine for rows
        keyed by the event's own stream; ``rebuild`` reproduces the exact history.
        """
        name = entry.follower
        if name not in PROJECTIONS and name not in self._by_name:
            raise ValueError(f"{name!r} is not a projection of this projector")
        projection = self._by_name.get(name) or PROJECTIONS[name]()
        source = self._sources.get(entry.context)
        if source is None:
            raise ValueError(f"no event source {entry.context!r} in this projector")
        found = source.notifications(entry.position - 1, 1, stop=entry.position)
        if not found or found[0].id != entry.position:
            raise LookupError(f"{entry.context}#{entry.position} is not in the log")
        envelope = source.decode(found[0])  # UndecodableEvent if it still cannot be read
        self._ensure_tables()
        with self._lock, self.engine.begin() as conn:
            tracked = self._lock_tracking(conn, entry.context, [name])[name]
            if tracked < entry.position:
                raise RuntimeError(
                    f"{name} is at {entry.context}#{tracked}, before the event: "
                    "it will meet the event itself"
                )
            try:
                projection.apply(conn, [envelope])
            except ProjectionError:
                raise
            except TRANSIENT_DB:
                raise
            except Exception as error:
                raise ProjectionError(name, envelope, error) from error
            resolve_in(conn, entry.id, "retry")

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


def _reporter(
    progress: Callable[[int, int], None] | None, base: int, total: int
) -> Callable[[int], None] | None:
    if progress is None:
        return None

    def report(done: int) -> None:
        progress(min(base + done, total), total)

    return report


def _insert_ignore(conn: Connection) -> Insert:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return pg_insert(_T).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(_T).on_conflict_do_nothing()
    return insert(_T).prefix_with("IGNORE")  # MySQL family; not a supported backend


class _Inbox:
    """Where the feeders leave notifications for the follow loop, taken in batches.

    Feeders add one notification at a time (subscription) or a page (polling)
    without waking the loop for each; the loop is woken when a batch is full,
    and otherwise collects for at most ``max_batch_delay`` after the first.
    """

    def __init__(self, capacity: int, batch_size: int) -> None:
        self.capacity = capacity
        self.batch_size = batch_size
        self._items: deque[tuple[str, Notification]] = deque()
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    def put(
        self, source: str, notifications: Sequence[Notification], stopped: threading.Event
    ) -> bool:
        with self._changed:
            while len(self._items) >= self.capacity:
                if stopped.is_set():
                    return False
                self._changed.wait(0.1)
            if stopped.is_set():
                return False
            was = len(self._items)
            self._items.extend((source, n) for n in notifications)
            if was == 0 or (was < self.batch_size <= len(self._items)):
                self._changed.notify_all()
        return True

    def fail(self, error: BaseException) -> None:
        with self._changed:
            if self._error is None:
                self._error = error
            self._changed.notify_all()

    def take(
        self, limit: int, idle_wait: float, fill_wait: float
    ) -> list[tuple[str, Notification]]:
        """Up to ``limit`` items: wait ``idle_wait`` for a first, then ``fill_wait`` for more."""
        with self._changed:
            if not self._items and self._error is None and idle_wait > 0:
                self._changed.wait(idle_wait)
            if self._items and len(self._items) < limit and self._error is None and fill_wait > 0:
                self._changed.wait_for(
                    lambda: len(self._items) >= limit or self._error is not None, fill_wait
                )
            if self._error is not None:
                raise self._error
            count = min(limit, len(self._items))
            taken = [self._items.popleft() for _ in range(count)]
            if taken:
                self._changed.notify_all()  # room for the feeders again
            return taken


class _Feeder(threading.Thread):
    """Pushes one source's notifications into the projector's inbox."""

    def __init__(
        self,
        source: EventSource,
        after: int,
        inbox: _Inbox,
        limit: int,
        poll_interval: float,
        modes: dict[str, str],
    ) -> None:
        super().__init__(name=f"projector-feed-{source.name}", daemon=True)
        self.modes = modes
        self.source = source
        self.after = after
        self.inbox = inbox
        self.limit = limit
        self.poll_interval = poll_interval
        self._stopped = threading.Event()
        self._subscription: Subscription[Any] | None = None
        self._guard = threading.Lock()

    def run(self) -> None:
        try:
            try:
                subscription = self.source.subscribe(self.after)
            except NotImplementedError:
                self.modes[self.source.name] = "polling"
                self._poll()
                return
            self.modes[self.source.name] = "subscription"
            with self._guard:
                self._subscription = subscription
            if self._stopped.is_set():
                subscription.stop()
            with subscription:
                for notification in subscription:
                    if not self.inbox.put(self.source.name, (notification,), self._stopped):
                        break
        except BaseException as error:
            if not self._stopped.is_set():
                self.inbox.fail(error)

    def _poll(self) -> None:
        after = self.after
        while not self._stopped.is_set():
            notifications = self.source.notifications(after, self.limit)
            if notifications:
                if not self.inbox.put(self.source.name, notifications, self._stopped):
                    return
                after = notifications[-1].id
            if len(notifications) < self.limit:
                self._stopped.wait(self.poll_interval)

    def stop(self) -> None:
        self._stopped.set()
        with self._guard:
            subscription = self._subscription
        if subscription is not None:
            subscription.stop()
