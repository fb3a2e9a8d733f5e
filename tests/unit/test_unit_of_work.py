"""The shared unit of work (application/unit_of_work.py): what it retries, how often, and
which hooks it calls, with a fake unit (no event store)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrencyExhausted, Conflict
from application.unit_of_work import (
    MAX_ATTEMPTS,
    ClockBehind,
    RetryFromFreshReads,
    UnitOfWork,
    run,
)
from domain.causation import current_recording_time

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class FakeUnit(UnitOfWork):
    """Counts commits and hooks; ``conflicts`` commits raise IntegrityError first."""

    def __init__(self, log: list[str], conflicts: list[int]) -> None:
        super().__init__(app=None)  # type: ignore[arg-type]
        self.log = log
        self.conflicts = conflicts

    def commit(self) -> None:
        if self.conflicts[0] > 0:
            self.conflicts[0] -= 1
            raise IntegrityError("conflict")
        self.log.append("commit")

    def succeeded(self) -> None:
        self.log.append("succeeded")

    def failed(self) -> None:
        self.log.append("failed")


def _run(use_case: Any, conflicts: int = 0, **options: Any) -> tuple[Any, list[str], list[int]]:
    log: list[str] = []
    attempts: list[int] = []
    remaining = [conflicts]

    def new_unit(attempt: int) -> FakeUnit:
        attempts.append(attempt)
        return FakeUnit(log, remaining)

    options.setdefault("clock", lambda: T0)
    result = run(new_unit, use_case, lock=threading.RLock(), **options)
    return result, log, attempts


def test_a_conflicting_commit_is_retried_from_a_fresh_unit():
    result, log, attempts = _run(lambda unit, now: "done", conflicts=2)
    assert result == "done"
    assert attempts == [0, 1, 2]
    assert log == ["failed", "failed", "commit", "succeeded"]


def test_it_gives_up_after_max_attempts_conflicts():
    with pytest.raises(ConcurrencyExhausted, match=f"gave up after {MAX_ATTEMPTS} "):
        _run(lambda unit, now: None, conflicts=MAX_ATTEMPTS)
    assert MAX_ATTEMPTS == 8


def test_retry_from_fresh_reads_is_a_conflict_and_other_errors_end_the_run():
    calls: list[int] = []

    def stale_once(unit: FakeUnit, now: datetime) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RetryFromFreshReads
        return len(calls)

    assert _run(stale_once)[0] == 2

    def refused(unit: FakeUnit, now: datetime) -> None:
        raise Conflict("no")

    log: list[str] = []
    with pytest.raises(Conflict):
        run(lambda _a: FakeUnit(log, [0]), refused, lock=threading.RLock(), clock=lambda: T0)
    assert log == ["failed"]  # not retried, not committed


def test_each_attempt_records_at_the_clock_time_and_monotonic_waits_for_what_it_read():
    seen: list[datetime | None] = []
    later = T0 + timedelta(seconds=5)

    def reads_a_newer_aggregate(unit: FakeUnit, now: datetime) -> None:
        seen.append(current_recording_time())
        unit.latest_seen = later

    _run(reads_a_newer_aggregate, monotonic=True)
    assert seen == [T0, later]  # repeated at the instant of the event it read

    seen.clear()
    _run(reads_a_newer_aggregate)
    assert seen == [T0]  # without monotonic the clock is taken as it is


class ConflictLoggingUnit(FakeUnit):
    def conflicted(self, error: Exception) -> None:
        self.log.append(f"conflicted:{type(error).__name__}")


def test_a_unit_is_told_of_each_conflict_before_it_fails():
    log: list[str] = []
    remaining = [1]
    behind = [True]

    def clock_behind_once(unit: FakeUnit, now: datetime) -> None:
        if behind.pop() if behind else False:
            unit.latest_seen = T0 + timedelta(seconds=1)

    run(
        lambda _a: ConflictLoggingUnit(log, remaining),
        clock_behind_once,
        lock=threading.RLock(),
        clock=lambda: T0,
        monotonic=True,
    )
    # the clock behind what it read (ClockBehind, a RetryFromFreshReads), then the commit's
    # conflict, then the commit
    assert log == [
        "conflicted:ClockBehind",
        "failed",
        "conflicted:IntegrityError",
        "failed",
        "commit",
        "succeeded",
    ]
    assert issubclass(ClockBehind, RetryFromFreshReads)
