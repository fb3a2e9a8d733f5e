"""Group commit (:mod:`application.vop.group_commit`): the items of concurrent callers are
saved in shared commits, each caller returns once its own are saved, and a failed batch
neither loses nor misattributes anything."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from application.vop.group_commit import GroupCommitter


class Store:
    """Saves items in commits; an item saved before is an ``IntegrityError`` of the commit
    (nothing of it is written); ``gate`` holds the first commit until released."""

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.saved: set[Any] = set()
        self.commits: list[tuple[Any, ...]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fail_with = fail_with
        self.attempts = 0

    def save(self, *items: Any) -> None:
        self.attempts += 1
        self.entered.set()
        self.gate.wait(5)
        if self.fail_with is not None:
            raise self.fail_with
        if "poison" in items:
            raise OSError("cannot write poison")
        if self.saved & set(items):
            raise IntegrityError("exists")
        self.saved |= set(items)
        self.commits.append(items)


def _concurrently(
    committer: GroupCommitter, store: Store, calls: list[tuple[Any, ...]]
) -> list[Any]:
    """Make the first call, hold its commit, queue the others, then release."""
    outcomes: list[Any] = [None] * len(calls)

    def call(n: int) -> None:
        try:
            committer.save(*calls[n])
            outcomes[n] = "saved"
        except BaseException as error:
            outcomes[n] = error

    with ThreadPoolExecutor(len(calls)) as pool:
        first = pool.submit(call, 0)
        assert store.entered.wait(5)
        rest = [pool.submit(call, n) for n in range(1, len(calls))]
        while committer._queue.qsize() < len(calls) - 1:
            threading.Event().wait(0.001)
        store.gate.set()
        for future in [first, *rest]:
            future.result(10)
    return outcomes


def test_concurrent_callers_share_commits_up_to_the_batch_size() -> None:
    store = Store()
    committer = GroupCommitter(store.save, batch_size=5)
    try:
        calls = [(f"a{n}", f"b{n}") for n in range(6)]  # 12 items of 6 callers
        assert _concurrently(committer, store, calls) == ["saved"] * 6
        assert store.commits[0] == ("a0", "b0")  # alone: nothing was waiting
        assert [len(c) for c in store.commits[1:]] == [4, 4, 2]  # never more than 5
        assert store.saved == {item for call in calls for item in call}
    finally:
        committer.close()


def test_a_repeated_member_fails_alone_and_the_others_are_written() -> None:
    store = Store()
    store.saved = {"old"}
    committer = GroupCommitter(store.save, batch_size=100)
    try:
        calls = [("x",), ("y1", "y2"), ("old", "z"), ("w",)]
        outcomes = _concurrently(committer, store, calls)
        assert outcomes[0] == outcomes[1] == outcomes[3] == "saved"
        assert isinstance(outcomes[2], IntegrityError)
        assert store.saved == {"old", "x", "y1", "y2", "w"}  # nothing of the repeat: not z
    finally:
        committer.close()


def test_an_error_of_every_save_reaches_every_member() -> None:
    store = Store(fail_with=OSError("database gone"))
    committer = GroupCommitter(store.save, batch_size=100)
    try:
        outcomes = _concurrently(committer, store, [("a",), ("b",), ("c",)])
        assert all(isinstance(o, OSError) for o in outcomes)
        assert store.saved == set()
    finally:
        committer.close()


def test_a_database_failure_fails_the_whole_batch_at_once_without_retrying_halves() -> None:
    """Unreachable, connection lost, pool exhausted: the same for every member, so retrying
    halves would only multiply the wait on a database that is not there."""
    store = Store(fail_with=OperationalError("connection refused"))
    committer = GroupCommitter(store.save, batch_size=100)
    try:
        calls = [("first",), *[(f"m{n}",) for n in range(8)]]
        outcomes = _concurrently(committer, store, calls)
        assert all(isinstance(o, OperationalError) for o in outcomes)
        assert store.attempts == 2  # the first alone, then the batch of 8 once
        assert store.saved == set()
    finally:
        committer.close()


def test_a_bulk_request_larger_than_the_batch_is_one_commit() -> None:
    store = Store()
    store.gate.set()
    committer = GroupCommitter(store.save, batch_size=2)
    try:
        committer.save("a", "b", "c")
        assert store.commits == [("a", "b", "c")]
    finally:
        committer.close()


def test_closed_it_refuses_and_bad_bounds_are_refused() -> None:
    store = Store()
    store.gate.set()
    committer = GroupCommitter(store.save, max_wait=0.001)
    committer.save("a")
    committer.close()
    with pytest.raises(RuntimeError, match="closed"):
        committer.save("b")
    with pytest.raises(ValueError, match="batch_size"):
        GroupCommitter(store.save, batch_size=0)
    with pytest.raises(ValueError, match="max_wait"):
        GroupCommitter(store.save, max_wait=-1)


def _held(store: Store, committer: GroupCommitter) -> Future[None]:
    """A first member whose commit is under way and held at the store's gate."""
    first = committer.submit("held")
    assert store.entered.wait(5)
    return first


def test_a_caller_that_stopped_waiting_is_left_out_and_the_writer_lives_on() -> None:
    """A request cancelled before the writer took it: its items are not written; one taken
    already cannot be cancelled and gets its result; the writer goes on either way."""
    store = Store()
    committer = GroupCommitter(store.save)
    try:
        held = _held(store, committer)
        assert not held.cancel()  # taken: running, so it is written and answered
        waiting = committer.submit("gone")
        assert waiting.cancel()  # not taken yet: its caller stopped waiting
        store.gate.set()
        assert held.result(5) is None
        assert committer.submit("later").result(5) is None
        assert store.saved == {"held", "later"}
        assert committer.alive
    finally:
        committer.close()


def test_an_event_loop_request_cancelled_while_waiting_breaks_nothing() -> None:
    """``respond_known``'s way: ``asyncio.wrap_future`` of the submitted future, the task
    cancelled (the client went away) while an earlier commit is under way."""
    store = Store()
    committer = GroupCommitter(store.save)

    async def scenario() -> None:
        held = _held(store, committer)
        submitted = committer.submit("gone")

        async def request() -> None:
            await asyncio.wrap_future(submitted)

        waiting = asyncio.create_task(request())
        await asyncio.sleep(0)  # let it start waiting
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        while not submitted.cancelled():  # passed on to the submitted future by the loop
            await asyncio.sleep(0)
        store.gate.set()
        await asyncio.wait_for(asyncio.wrap_future(held), 5)
        await asyncio.wait_for(asyncio.wrap_future(committer.submit("later")), 5)

    try:
        asyncio.run(scenario())
        assert store.saved == {"held", "later"}
        assert committer.alive
    finally:
        committer.close()


def test_an_unexpected_error_of_the_writer_fails_its_batch_not_the_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store()
    store.gate.set()
    committer = GroupCommitter(store.save)
    commit = committer._commit
    broken = [True]

    def once_broken(batch: list[Any]) -> None:
        if broken.pop() if broken else False:
            raise RuntimeError("bug")
        commit(batch)

    committer._commit = once_broken  # type: ignore[method-assign]
    try:
        with (
            caplog.at_level(logging.ERROR, "application.vop.group_commit"),
            pytest.raises(RuntimeError, match="bug"),
        ):
            committer.save("a")
        assert "unexpected error" in caplog.text
        committer.save("b")
        assert store.saved == {"b"} and committer.alive
    finally:
        committer.close()
    assert not committer.alive  # stopped once closed


def test_a_repeat_in_a_large_batch_costs_about_log_n_commits_not_n() -> None:
    store = Store()
    store.saved = {"old"}
    committer = GroupCommitter(store.save, batch_size=100)
    try:
        calls = [("first",), *[(f"m{n}",) for n in range(15)], ("old",)]  # 16 after the first
        outcomes = _concurrently(committer, store, calls)
        assert isinstance(outcomes[-1], IntegrityError)
        assert outcomes[:-1] == ["saved"] * 16
        # the first alone, the batch of 16, then two halves on each of 4 levels
        assert store.attempts == 1 + 1 + 2 * 4
    finally:
        committer.close()


def test_another_error_of_one_member_stays_its_own() -> None:
    """Not an IntegrityError, and not the whole database: the one member whose save fails
    gets the error, the other PSPs' requests of its batch are written."""
    store = Store()
    committer = GroupCommitter(store.save, batch_size=100)
    try:
        calls = [("first",), ("a",), ("poison", "p2"), ("b", "c"), ("d",)]
        outcomes = _concurrently(committer, store, calls)
        assert isinstance(outcomes[2], OSError)
        assert [outcomes[n] for n in (0, 1, 3, 4)] == ["saved"] * 4
        assert store.saved == {"first", "a", "b", "c", "d"}
    finally:
        committer.close()


class _HeldQueue:
    """The committer's queue, its put of ``late`` held until ``release`` is set."""

    def __init__(self, inner: Any, late: str) -> None:
        self.inner = inner
        self.late = late
        self.putting = threading.Event()
        self.release = threading.Event()

    def put(self, got: Any) -> None:
        if getattr(got, "items", None) == (self.late,):
            self.putting.set()
            self.release.wait(5)
        self.inner.put(got)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_submit_racing_close_is_saved_or_refused_never_left_waiting() -> None:
    """A submit that passed the closed check before ``close`` is enqueued before the stop
    (they share a lock), so the writer saves it; it never waits forever."""
    store = Store()
    store.gate.set()
    committer = GroupCommitter(store.save)
    committer.save("a")
    held = _HeldQueue(committer._queue, "late")
    committer._queue = held  # type: ignore[assignment]
    with ThreadPoolExecutor(2) as pool:
        late = pool.submit(committer.submit, "late")
        assert held.putting.wait(5)
        closing = pool.submit(committer.close)
        writer = committer._thread
        assert writer is not None
        writer.join(0.2)  # unfixed, the writer stops here; fixed, close waits for the lock
        held.release.set()
        try:
            outcome: Any = late.result(5).result(5)  # unfixed: TimeoutError, left waiting
        except RuntimeError as refused:
            outcome = refused
        assert outcome is None or "closed" in str(outcome)
        assert closing.result(10) is True
    assert not committer.alive


def test_close_says_whether_the_writer_stopped_and_fails_what_it_left() -> None:
    store = Store()
    committer = GroupCommitter(store.save)
    held = _held(store, committer)
    assert committer.close(timeout=0.01) is False  # still saving
    store.gate.set()
    assert committer.wait_stopped(5) is True
    assert held.result(5) is None
    with pytest.raises(RuntimeError, match="closed"):
        committer.submit("x")
