"""Leader election between the replicas of a role: one of them does the work, the others wait.

* PostgreSQL: a session-level ``pg_try_advisory_lock`` on a key derived from the name. The
  lock lives and dies with one connection, held (checked out of the pool) while leading, and
  invalidated afterwards; ``still_leading`` asks ``pg_locks`` whether the session still holds
  it (the connection may have died, and the lock with it).
* SQLite (one host): an exclusive ``fcntl`` lock on a file under ``lock_dir``.

:func:`leadership` is the context manager form (the outbox holds it around a publishing
session); :class:`Leadership` holds it across the steps of a loop worker: each step asks
:meth:`Leadership.leading`, which acquires it when free, checks it while held, and answers
False for a standby.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, text


def lock_key(name: str) -> int:
    """The advisory lock key of ``name`` (63 bits: pg_locks shows it as two oids)."""
    digest = hashlib.sha256(name.encode()).digest()[:8]
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


@contextlib.contextmanager
def leadership(
    engine: Engine, name: str, lock_dir: Path, *, file_prefix: str = "leader"
) -> Iterator[Callable[[], bool]]:
    """Try (without waiting) to become the leader named ``name``; yields a check that says
    whether this process still is. Leaving the block gives the leadership up."""
    if engine.dialect.name == "postgresql":
        key = lock_key(name)
        # The session lock lives and dies with this connection: it stays checked out
        # while held, and is invalidated (closed, not returned to the pool) afterwards.
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            )

            def still_leading() -> bool:
                if not got:
                    return False
                held = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND pid = pg_backend_pid() AND granted "
                        "AND ((classid::bigint << 32) | objid::bigint) = :k"
                    ),
                    {"k": key},
                ).scalar()
                return bool(held)

            yield still_leading
        finally:
            # Closing the connection ends the session, and with it the lock, even if
            # an unlock could not be sent.
            connection.invalidate()
            connection.close()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    safe = hashlib.sha256(name.encode()).hexdigest()[:16]
    with open(lock_dir / f"{file_prefix}-{safe}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield lambda: False
            return
        try:
            yield lambda: True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Leadership:
    """A leadership held across the steps of one or more workers of this process.

    :meth:`leading` is cheap to call before every piece of work: a standby tries to acquire
    the lock (and answers False when another replica holds it), the leader checks it still
    holds it (and gives it up at once when not). :meth:`release` gives it up for good (on
    shutdown). Thread-safe: the workers sharing it run in their own threads.
    """

    def __init__(
        self,
        engine: Engine,
        name: str,
        lock_dir: Path,
        *,
        file_prefix: str = "leader",
        retry_after: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.name = name
        self.lock_dir = lock_dir
        self.file_prefix = file_prefix
        self.retry_after = retry_after
        """A standby tries again at most this often (each try on PostgreSQL is a new
        connection)."""
        self._clock = clock
        self._tried_at: float | None = None
        self._lock = threading.RLock()
        self._held: contextlib.ExitStack | None = None
        self._check: Callable[[], bool] | None = None
        self._released = False

    @property
    def is_leader(self) -> bool:
        """Whether this process held the leadership at the last check (no query)."""
        return self._check is not None

    def leading(self) -> bool:
        """True when this process is the leader now (acquiring the leadership if free)."""
        with self._lock:
            if self._released:
                return False
            if self._check is None:
                now = self._clock()
                if self._tried_at is not None and now - self._tried_at < self.retry_after:
                    return False
                self._tried_at = now
                return self._acquire()
            try:
                still = self._check()
            except Exception:  # the lock's connection is gone: so is the lock
                still = False
            if not still:
                self._give_up()
            return still

    def _acquire(self) -> bool:
        stack = contextlib.ExitStack()
        try:
            check = stack.enter_context(
                leadership(self.engine, self.name, self.lock_dir, file_prefix=self.file_prefix)
            )
            got = check()
        except BaseException:
            stack.close()
            raise
        if not got:
            stack.close()
            return False
        self._held, self._check = stack, check
        return True

    def _give_up(self) -> None:
        held, self._held, self._check = self._held, None, None
        if held is not None:
            with contextlib.suppress(Exception):  # a dead connection: the lock went with it
                held.close()

    def release(self) -> None:
        """Give the leadership up (a standby takes over) and never take it again."""
        with self._lock:
            self._released = True
            self._give_up()
