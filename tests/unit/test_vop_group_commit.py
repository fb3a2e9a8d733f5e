"""Group commit (:mod:`application.vop.group_commit`): the items of concurrent callers are
saved in shared commits, each caller returns once its own are saved, and a failed batch
neither loses nor misattributes anything."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

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

    def save(self, *items: Any) -> None:
        self.entered.set()
        self.gate.wait(5)
        if self.fail_with is not None:
            raise self.fail_with
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


def test_another_error_reaches_every_member_of_the_batch() -> None:
    store = Store(fail_with=OSError("database gone"))
    committer = GroupCommitter(store.save, batch_size=100)
    try:
        outcomes = _concurrently(committer, store, [("a",), ("b",), ("c",)])
        assert all(isinstance(o, OSError) for o in outcomes)
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
