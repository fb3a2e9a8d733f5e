"""Group commit: the checks of concurrent requests written in one event-store commit.

Every check is an event, so at thousands of checks per second one commit per request would
make the event store's commit (on PostgreSQL a table lock that keeps notification ids in
commit order, then an fsync) the limit of a pod and of the database. :class:`GroupCommitter`
runs one writer thread: a request hands it its checks (:meth:`GroupCommitter.save`) and
waits; the writer takes whatever requests are waiting, up to ``batch_size`` checks, waiting
at most ``max_wait`` seconds for more when it has fewer, and saves them all with one call of
``save`` (one transaction). Each request returns only after its own checks are durable.

A failed batch loses and misattributes nothing: when the commit of the whole batch fails
with :class:`~eventsourcing.persistence.IntegrityError` (a request id sent again, whose
checks exist already), every member of the batch is saved again on its own, so the one that
collided gets its own ``IntegrityError`` (and is answered as recorded, or 409) and the others
are written. Any other error reaches every member of the failed batch (none of it was
written: one transaction). A member is never put in a batch larger than ``batch_size``
checks, except a single request that is larger on its own (its checks stay one commit).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError

Save = Callable[..., Any]


@dataclass
class _Member:
    items: Sequence[Any]
    done: Future[None] = field(default_factory=Future)


_STOP = object()


class GroupCommitter:
    """Saves the items of concurrent callers in batches through ``save(*items)``."""

    def __init__(self, save: Save, *, batch_size: int = 500, max_wait: float = 0.0) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        self._save = save
        self.batch_size = batch_size
        self.max_wait = max_wait
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._carry: _Member | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.commits = 0
        """Commits made (batches, and members saved again on their own)."""

    def save(self, *items: Any) -> None:
        """Return once ``items`` are saved (in one commit, perhaps with others'); raise what
        saving them raised (``IntegrityError`` when one of them exists already)."""
        self.submit(*items).result()

    def submit(self, *items: Any) -> Future[None]:
        """Hand ``items`` in; the future is done once they are saved (or failed), for a
        caller that must not block (an event loop: ``asyncio.wrap_future``)."""
        if self._closed:
            raise RuntimeError("the group committer is closed")
        member = _Member(items)
        if not items:
            member.done.set_result(None)
            return member.done
        self._ensure_started()
        self._queue.put(member)
        return member.done

    def close(self, timeout: float = 5.0) -> None:
        """Write what was handed in, then stop the writer thread."""
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)

    # -- the writer ------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="vop-group-commit", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        stopping = False
        while not stopping or self._carry is not None:
            batch, stopping = self._collect(stopping)
            if batch:
                self._commit(batch)
        while True:  # handed in while closing: refused, never left waiting
            try:
                got = self._queue.get_nowait()
            except queue.Empty:
                return
            if got is not _STOP:
                got.done.set_exception(RuntimeError("the group committer is closed"))

    def _collect(self, stopping: bool) -> tuple[list[_Member], bool]:
        """The next batch: a carried-over member or the first to arrive, then whatever is
        waiting (and, below ``batch_size``, what arrives within ``max_wait``)."""
        batch: list[_Member] = []
        size = 0
        first = self._carry
        self._carry = None
        if first is None:
            if stopping:
                return batch, True
            got = self._queue.get()
            if got is _STOP:
                return batch, True
            first = got
        batch.append(first)
        size += len(first.items)
        deadline = time.monotonic() + self.max_wait
        while size < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                if remaining > 0:
                    got = self._queue.get(timeout=remaining)
                else:
                    got = self._queue.get_nowait()
            except queue.Empty:
                break
            if got is _STOP:
                stopping = True
                break
            if size + len(got.items) > self.batch_size:
                self._carry = got  # the next batch starts with it
                break
            batch.append(got)
            size += len(got.items)
        return batch, stopping

    def _commit(self, batch: list[_Member]) -> None:
        try:
            self._save(*(item for member in batch for item in member.items))
            self.commits += 1
        except IntegrityError as error:
            if len(batch) == 1:
                batch[0].done.set_exception(error)
                return
            for member in batch:  # find the one(s) that collided; write the others
                self._commit([member])
            return
        except BaseException as error:
            for member in batch:
                member.done.set_exception(error)
            return
        for member in batch:
            member.done.set_result(None)
