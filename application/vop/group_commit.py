"""Group commit: the checks of concurrent requests written in one event-store commit.

Every check is an event, so at thousands of checks per second one commit per request would
make the event store's commit (on PostgreSQL a table lock that keeps notification ids in
commit order, then an fsync) the limit of a pod and of the database. :class:`GroupCommitter`
runs one writer thread: a request hands it its checks (:meth:`GroupCommitter.save`) and
waits; the writer takes whatever requests are waiting, up to ``batch_size`` checks, waiting
at most ``max_wait`` seconds for more when it has fewer, and saves them all with one call of
``save`` (one transaction). Each request returns only after its own checks are durable.

A failed batch loses and misattributes nothing: when the commit of a batch of several
requests fails (an :class:`~eventsourcing.persistence.IntegrityError`: a request id sent
again, whose checks exist already; or any other error), the batch is split in halves and
each half is saved on its own, recursively, so a request that fails alone gets its own error
(a repeat is answered as recorded, or 409) and every other one is written: one repeat in a
batch of ``N`` costs about ``2·log2 N`` extra commits, not ``N``. A member is never put in a
batch larger than ``batch_size`` checks, except a single request that is larger on its own
(its checks stay one commit).

A caller that stops waiting (an event loop's request cancelled: its future is cancelled) is
left out if the writer has not taken it yet (none of its checks is written); once taken it
is running, cannot be cancelled, and is written. The writer thread never dies of an error: a
failure it did not expect is logged and fails the batch it was working on. :meth:`close`
refuses new work at once (under the lock :meth:`submit` enqueues with), lets the writer save
what was handed in, and fails whatever it leaves; it says whether the writer stopped, so the
owner closes the store only after the last save.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    InterfaceError,
    OperationalError,
)

Save = Callable[..., Any]

log = logging.getLogger(__name__)

SHARED_FAILURES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionPoolClosedError,
)
"""Failures of the database itself, not of one member's checks: not retried in halves."""


@dataclass
class _Member:
    items: Sequence[Any]
    done: Future[None] = field(default_factory=Future)


_STOP = object()


def _closed_error() -> RuntimeError:
    return RuntimeError("the group committer is closed")


def _deliver(member: _Member, error: BaseException | None = None) -> None:
    """Settle ``member``'s future; one that is settled already (cancelled while it was not
    taken yet) is left as it is, never an error of the writer."""
    try:
        if error is None:
            member.done.set_result(None)
        else:
            member.done.set_exception(error)
    except InvalidStateError:
        pass


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
        """Taken (running) but left for the next batch: it did not fit."""
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        """Held to check ``_closed``, start the writer and enqueue; and by :meth:`close`."""
        self._closed = False
        self.commits = 0
        """Commits made (batches, and parts of failed batches saved on their own)."""

    @property
    def alive(self) -> bool:
        """The writer thread runs, or has not been started yet (nothing handed in so far):
        False once it stopped (closed, or killed by what nothing should raise), when checks
        handed in would never be saved (for readiness)."""
        thread = self._thread
        return thread is None or thread.is_alive()

    def save(self, *items: Any) -> None:
        """Return once ``items`` are saved (in one commit, perhaps with others'); raise what
        saving them raised (``IntegrityError`` when one of them exists already)."""
        self.submit(*items).result()

    def submit(self, *items: Any) -> Future[None]:
        """Hand ``items`` in; the future is done once they are saved (or failed), for a
        caller that must not block (an event loop: ``asyncio.wrap_future``). Cancelling the
        future before the writer took it leaves the items unsaved."""
        member = _Member(items)
        with self._lock:
            if self._closed:
                raise _closed_error()
            if not items:
                member.done.set_result(None)
                return member.done
            self._ensure_started()
            self._queue.put(member)
        return member.done

    def close(self, timeout: float = 5.0) -> bool:
        """Refuse new items, let the writer save what was handed in and stop; True once it
        stopped (within ``timeout`` seconds), False when it is still saving (see
        :meth:`wait_stopped`). Anything it left is failed, never left waiting."""
        with self._lock:
            already = self._closed
            self._closed = True
            thread = self._thread
            if thread is not None and not already:
                self._queue.put(_STOP)  # the last put: every submit checks _closed first
        return self.wait_stopped(timeout)

    def wait_stopped(self, timeout: float) -> bool:
        """After :meth:`close`: wait up to ``timeout`` seconds for the writer to stop; True
        once it has (what it left is then failed)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                return False
        carried, self._carry = self._carry, None
        if carried is not None:
            _deliver(carried, _closed_error())
        self._refuse_rest()
        return True

    # -- the writer ------------------------------------------------------------------

    def _ensure_started(self) -> None:
        """Start the writer (under ``_lock``); a writer that stopped is not replaced: it
        stops only when closed, so that would be a bug to see, not to hide."""
        if self._thread is None:
            thread = threading.Thread(target=self._run, name="vop-group-commit", daemon=True)
            thread.start()
            self._thread = thread
        elif not self._thread.is_alive():
            raise RuntimeError("the group committer's writer thread stopped")

    def _run(self) -> None:
        stopping = False
        while not stopping or self._carry is not None:
            batch: list[_Member] = []
            try:
                stopping = self._collect(batch, stopping)
                if batch:
                    self._commit(batch)
            except BaseException as error:  # the writer must outlive any error
                log.exception("group commit: unexpected error; its batch failed")
                for member in batch:
                    _deliver(member, error)
        self._refuse_rest()

    def _refuse_rest(self) -> None:
        """Fail what is left in the queue: handed in while closing, or (called by
        :meth:`wait_stopped`) left by a writer that stopped."""
        while True:
            try:
                got = self._queue.get_nowait()
            except queue.Empty:
                return
            if got is not _STOP:
                _deliver(got, _closed_error())

    def _collect(self, batch: list[_Member], stopping: bool) -> bool:
        """Fill ``batch``: a carried-over member or the first to arrive, then whatever is
        waiting (and, below ``batch_size``, what arrives within ``max_wait``). A member is
        taken (its future set running) as it is collected; one cancelled before is skipped.
        Returns whether the stop was seen."""
        size = 0
        while not batch:
            first = self._carry
            self._carry = None
            if first is None:
                if stopping:
                    return True
                got = self._queue.get()
                if got is _STOP:
                    return True
                if not got.done.set_running_or_notify_cancel():
                    continue  # its caller stopped waiting: not written
                first = got
            batch.append(first)
            size = len(first.items)
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
                return True
            if not got.done.set_running_or_notify_cancel():
                continue
            if size + len(got.items) > self.batch_size:
                self._carry = got  # taken; the next batch starts with it
                break
            batch.append(got)
            size += len(got.items)
        return stopping

    def _commit(self, batch: list[_Member]) -> None:
        """Save ``batch`` in one commit; when that fails and it has several members, save
        each half on its own (recursively): a member that fails alone gets its own error.
        A failure of the database itself (:data:`SHARED_FAILURES`: unreachable, connection
        lost, pool exhausted) is every member's alike: the whole batch gets it at once,
        rather than retrying halves against a database that is not there."""
        try:
            self._save(*(item for member in batch for item in member.items))
            self.commits += 1
        except BaseException as error:
            if len(batch) == 1 or isinstance(error, SHARED_FAILURES):
                for member in batch:
                    _deliver(member, error)
                return
            half = len(batch) // 2
            self._commit(batch[:half])
            self._commit(batch[half:])
            return
        for member in batch:
            _deliver(member)
