"""The unit of work every context's use cases run in: one save, retried on conflicts.

A use case loads what it needs into a :class:`UnitOfWork`, calls the domain, and the
unit makes one ``save`` so that every aggregate it touched commits in one database
transaction. :func:`run` repeats the use case from fresh reads when the commit meets an
optimistic-concurrency conflict (another writer got there first, or the same id was
created twice: eventsourcing's ``IntegrityError``), or when the use case itself raises
:class:`RetryFromFreshReads`; before the unit's :meth:`~UnitOfWork.failed` it is told of the
conflict (:meth:`~UnitOfWork.conflicted`), so that it can learn which of its reads were stale
and the next attempt read only those again. After :data:`MAX_ATTEMPTS` conflicts it gives up with
:class:`~application.errors.ConcurrencyExhausted`.

The clock is injected (:data:`Clock`, :func:`utc_now` by default) so that tests and
replays control it; each attempt records its events at one instant
(:func:`~domain.causation.recording_at`) and under the caller's causation.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrencyExhausted
from domain.causation import caused_by, current_causation, recording_at

MAX_ATTEMPTS = 8
"""How many conflicting attempts a use case makes before it gives up."""

Clock = Callable[[], datetime]
"""Returns the current UTC time; injected so tests and replays control it."""


def utc_now() -> datetime:
    """The default :data:`Clock`: the system's time in UTC."""
    return datetime.now(UTC)


class RetryFromFreshReads(Exception):
    """Raised by an attempt whose decision rested on state that may be stale (a cached
    aggregate, a clock behind a recorded event): the attempt is repeated from fresh reads,
    like one whose commit conflicted."""


class ClockBehind(RetryFromFreshReads):
    """Raised by :func:`run` (``monotonic``) when the attempt's clock was behind an event it
    read: its reads were not found wanting, only its instant; the next attempt runs later."""


CONFLICTS: tuple[type[Exception], ...] = (IntegrityError, RetryFromFreshReads)
"""What makes :func:`run` repeat an attempt instead of raising."""


class UnitOfWork:
    """The aggregates one use case loaded or created, saved together in one commit.

    Reads are repeatable within the unit: an aggregate is read once, and one found
    missing stays missing until the unit adds it. Subclasses add the typed finders of
    their context and may override :meth:`load` (a cache), :meth:`succeeded` and
    :meth:`failed`.
    """

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.loaded: dict[UUID, Any] = {}
        self.missing: set[UUID] = set()
        self.latest_seen: datetime | None = None
        """The newest ``modified_on`` among the aggregates read (see ``monotonic``)."""

    def get(self, aggregate_id: UUID) -> Any | None:
        """The aggregate with this id as this unit sees it, or None when there is none."""
        if aggregate_id in self.loaded:
            return self.loaded[aggregate_id]
        if aggregate_id in self.missing:
            return None
        aggregate = self.load(aggregate_id)
        if aggregate is None:
            self.missing.add(aggregate_id)
            return None
        modified: datetime = aggregate.modified_on
        if self.latest_seen is None or modified > self.latest_seen:
            self.latest_seen = modified
        self.loaded[aggregate_id] = aggregate
        return aggregate

    def load(self, aggregate_id: UUID) -> Any | None:
        """Read the aggregate from the event store (None when it does not exist)."""
        try:
            aggregate: Any = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate

    def add(self, aggregate: Any) -> None:
        """A new aggregate, saved with the others at the commit."""
        self.missing.discard(aggregate.id)
        self.loaded[aggregate.id] = aggregate

    def commit(self) -> None:
        """Save every aggregate with pending events in one transaction."""
        pending = [agg for agg in self.loaded.values() if agg.pending_events]
        if pending:
            self.app.save(*pending)

    def succeeded(self) -> None:
        """After the commit (hook; it may still raise to the caller)."""

    def conflicted(self, error: Exception) -> None:
        """After an attempt that met a conflict (:data:`CONFLICTS`), before :meth:`failed`
        (hook: a unit may find out here which of its reads were stale)."""

    def failed(self) -> None:
        """After an attempt that did not commit, retried or not (hook)."""


U = TypeVar("U", bound=UnitOfWork)
T = TypeVar("T")


def run(
    new_unit: Callable[[int], U],
    use_case: Callable[[U, datetime], T],
    *,
    lock: AbstractContextManager[Any],
    clock: Clock,
    monotonic: bool = False,
) -> T:
    """Run ``use_case(unit, now)`` in a fresh unit from ``new_unit(attempt)`` (0 first) and
    commit it; repeat on a conflict (:data:`CONFLICTS`), at most :data:`MAX_ATTEMPTS` times.

    Every attempt runs under ``lock`` and the caller's causation (one correlation id for
    all of them), recording its events at ``now``, the ``clock``'s time. With ``monotonic``
    an attempt whose clock is behind an event already recorded on an aggregate it read
    (another process's clock, or a step back) is repeated at that event's instant, so the
    times of every stream never go back. Any other exception ends the run at once.
    """
    causation = current_causation()
    not_before: datetime | None = None
    with lock, caused_by(causation):
        for attempt in range(MAX_ATTEMPTS):
            unit = new_unit(attempt)
            instant = clock()
            if not_before is not None and instant < not_before:
                instant = not_before
            try:
                with recording_at(instant):
                    result = use_case(unit, instant)
                if monotonic and unit.latest_seen is not None and unit.latest_seen > instant:
                    not_before = unit.latest_seen
                    raise ClockBehind
                unit.commit()
            except CONFLICTS as error:
                unit.conflicted(error)
                unit.failed()
                continue
            except BaseException:
                unit.failed()
                raise
            unit.succeeded()
            return result
    raise ConcurrencyExhausted(f"gave up after {MAX_ATTEMPTS} concurrent-update conflicts")
