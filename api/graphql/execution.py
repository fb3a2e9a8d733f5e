"""Where GraphQL executions run: never on the server's event loop, each within a deadline, a
bounded number per principal and per process.

The resolvers are ``async`` but call synchronous SQLAlchemy queries, and graphql-core builds
every result object in Python: a big document is seconds of CPU and blocking I/O. Run on the
server's event loop, it would stall every other request (REST included) for as long. So each
execution runs in a worker thread of its own with a private event loop
(:meth:`ExecutionGate.run`):

- the server's loop only waits for the thread, and serves other requests meanwhile;
- worker threads come from a limiter of their own (``workers``): GraphQL cannot take the
  threads REST routes run on, and more executions than that wait for a free worker;
- inside the private loop, :func:`offload` hands blocking work to the execution's one I/O
  thread: an execution uses one database connection at a time, and its loop stays free to
  notice the deadline;
- the deadline cancels the execution: queries not started yet are dropped, the one running
  finishes (a thread cannot be interrupted) and its result is thrown away;
- ``max_concurrent`` executions per principal; one more is refused at once with
  :class:`TooManyConcurrent` (HTTP 429, like the rate limit).

Outside an execution (a resolver called on the server's loop, e.g. by a test calling the
schema directly), :func:`offload` uses asyncio's default thread pool.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

from api.http.middleware.ratelimit import RateLimited

P = ParamSpec("P")
R = TypeVar("R")


async def offload(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run blocking ``fn`` in the running loop's executor: inside an execution that is the
    execution's one I/O thread (see the module docstring), elsewhere asyncio's default pool."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class TooManyConcurrent(RateLimited):
    """``key`` already has ``limit`` GraphQL executions running (answered 429, retry in 1 s)."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(key, 1.0)
        self.limit = limit
        self.args = (
            f"too many concurrent GraphQL requests for {key}: at most {limit} at a time "
            "(LEDGER_GRAPHQL_MAX_CONCURRENT); retry after 1 s",
        )


class DeadlineExceeded(Exception):
    """The execution ran past its deadline and was cancelled."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"query ran longer than the deadline of {seconds:g} s "
            "(LEDGER_GRAPHQL_DEADLINE_SECONDS) and was cancelled"
        )
        self.seconds = seconds


class ExecutionGate:
    """Runs executions off the server's loop within the limits (see the module docstring)."""

    def __init__(self, *, deadline_seconds: float, max_concurrent: int, workers: int) -> None:
        self.deadline_seconds = deadline_seconds
        self.max_concurrent = max_concurrent
        self.workers = workers
        self._limiter: anyio.CapacityLimiter | None = None
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def running(self, key: str) -> int:
        """Executions ``key`` has running now (tests read it)."""
        with self._lock:
            return self._running.get(key, 0)

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """One of ``key``'s ``max_concurrent`` slots, or :class:`TooManyConcurrent`."""
        with self._lock:
            count = self._running.get(key, 0)
            if count >= self.max_concurrent:
                raise TooManyConcurrent(key, self.max_concurrent)
            self._running[key] = count + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._running[key] - 1
                if left:
                    self._running[key] = left
                else:
                    del self._running[key]

    async def run(self, key: str, execute: Callable[[], Awaitable[R]]) -> R:
        """``execute()`` in a worker thread on a private loop, as one of ``key``'s slots.

        Raises :class:`TooManyConcurrent` before starting, :class:`DeadlineExceeded` when the
        deadline cancelled it.
        """
        if self._limiter is None:  # made on first use, inside the server's event loop
            self._limiter = anyio.CapacityLimiter(self.workers)
        with self.slot(key):
            return await anyio.to_thread.run_sync(
                self._in_private_loop, execute, limiter=self._limiter
            )

    def _in_private_loop(self, execute: Callable[[], Awaitable[R]]) -> R:
        async def bounded() -> R:
            asyncio.get_running_loop().set_default_executor(
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-io")
            )
            try:
                async with asyncio.timeout(self.deadline_seconds) as timeout:
                    return await execute()
            except TimeoutError:
                if timeout.expired():
                    raise DeadlineExceeded(self.deadline_seconds) from None
                raise

        return asyncio.run(bounded())  # which also waits for the I/O thread to finish
