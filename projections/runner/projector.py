"""The projector: feeds the event logs of the bounded contexts to the projections, batch by
batch (:mod:`projections.runner.batches`: exactly once, and quarantine).

It catches up to the heads of the logs (:meth:`Projector.catch_up`), rebuilds a projection
from zero (:meth:`Projector.rebuild`), and follows the logs (:meth:`Projector.run`): one
feeder thread per source pushes notifications into a queue
(:mod:`projections.runner.feed`); on PostgreSQL the feeder follows the log through
the recorder's LISTEN/NOTIFY subscription, on SQLite (no subscriptions) it
polls ``select_notifications``. The main loop decodes and batches by size and
time. No database transaction is held open while waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from time import monotonic

from eventsourcing.persistence import Notification
from sqlalchemy import select, update

from projections.base import Projection, ProjectionError, chunked
from projections.quarantine import TRANSIENT_DB, Entry, close_for_rebuild, resolve_in
from projections.runner.batches import BatchProjector
from projections.runner.feed import Feeder, Inbox
from projections.runner.registry import PROJECTIONS
from projections.runner.sources import EventSource
from projections.tables import rm_projection_tracking
from projections.views import ProjectionStatus

logger = logging.getLogger(__name__)

_T = rm_projection_tracking
_IDLE_WAIT = 0.1  # how often the follow loop looks at its stop event when idle


class Projector(BatchProjector):
    """Runs the named projections (default: all) over the given sources.

    ``event_filter`` (used by replay) limits which events reach the
    projections; filtered-out events still advance the tracking position.

    ``chain=True`` also runs the :class:`~projections.audit.chain.ChainFollower` (tracked as
    ``"chain"``), which extends the tamper-evidence hash chain in the same transactions.
    It sees every event, so it cannot be combined with ``event_filter``.
    """

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
        inbox = Inbox(capacity=4 * self.batch_size, batch_size=self.batch_size)
        feeders = [
            Feeder(s, cursors[s.name], inbox, self.batch_size, self.poll_interval, self.feed_modes)
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


def _reporter(
    progress: Callable[[int, int], None] | None, base: int, total: int
) -> Callable[[int], None] | None:
    if progress is None:
        return None

    def report(done: int) -> None:
        progress(min(base + done, total), total)

    return report
