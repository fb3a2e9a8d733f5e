"""Background workers of the process roles, and the loop they share.

A *worker* is whatever a role runs beside its HTTP endpoints: the STOMP consumer, the fraud
case opener, the statement inbox of the reconciliation, the notification dispatcher. The app
starts every worker in its lifespan, tells them all to stop on shutdown (SIGTERM) and waits
for them within one deadline, and reports each one's readiness under ``/readyz``
(``checks.workers``; it gates readiness only in a role without an API).

:class:`LoopWorker` is the common shape: call ``step()`` again and again in a supervised daemon
thread; a step that found nothing to do makes the loop wait ``idle_wait`` seconds (or until
:meth:`LoopWorker.wake`), a step that raised is logged with its traceback and retried after
``restart_delay`` so that no input crashes the worker. A step does one bounded piece of work
(one batch) and commits it, so stopping between two steps loses nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from api.runtime.logs import get_logger

log = get_logger("api.runtime.workers")


class Stoppable(Protocol):
    """Anything running in the background that SIGTERM must stop (workers, the STOMP
    ingestion, the projector thread)."""

    def request_stop(self) -> None:
        """Stop taking new work now (returns at once; :meth:`shutdown` waits)."""
        ...

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop taking work, finish the piece in hand, return within ``timeout``."""
        ...


class Worker(Stoppable, Protocol):
    """What the app needs of a background worker."""

    name: str

    def start(self) -> None: ...

    def readiness(self) -> dict[str, Any]:
        """``{"ready": bool, ...}``; the other keys are shown under ``/readyz``."""
        ...


class LoopWorker:
    """Runs ``step`` until stopped; ``step`` returns how many items it handled (0: idle)."""

    def __init__(
        self,
        name: str,
        step: Callable[[], int],
        *,
        idle_wait: float = 1.0,
        restart_delay: float = 2.0,
        stale_after: float | None = None,
    ) -> None:
        self.name = name
        self._step = step
        self.idle_wait = idle_wait
        self.restart_delay = restart_delay
        self.stale_after = stale_after
        """Unready when no step has completed for this long since the last success, or since
        the start for a worker that never succeeded (None: never stale)."""
        self.stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_success: float | None = None
        self.started_at: float | None = None

    def start(self) -> None:
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        log.info("worker started", worker=self.name)

    def wake(self) -> None:
        """Run the next step now instead of after the idle wait."""
        self._wake.set()

    def run_once(self) -> int:
        """One step in the caller's thread, with the loop's bookkeeping (tests, CLI)."""
        handled = self._step()
        self.handled += handled
        self.last_success = time.monotonic()
        self.last_error = None
        return handled

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                handled = self.run_once()
            except Exception as error:
                self.failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("worker step failed; retrying", worker=self.name)
                self.stop.wait(self.restart_delay)
                continue
            if handled == 0:
                self._wake.wait(self.idle_wait)
                self._wake.clear()

    def request_stop(self) -> None:
        self.stop.set()
        self._wake.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("worker did not stop in time", worker=self.name, timeout=timeout)
                return
        log.info("worker stopped", worker=self.name, handled=self.handled)

    def readiness(self) -> dict[str, Any]:
        alive = self._thread is not None and self._thread.is_alive()
        since = self.last_success or self.started_at
        stale = (
            self.stale_after is not None
            and since is not None
            and time.monotonic() - since > self.stale_after
        )
        return {
            "ready": alive and not stale,
            "handled": self.handled,
            "failures": self.failures,
            "lastError": self.last_error,
        }


def shutdown_all(parts: Sequence[Stoppable], timeout: float) -> None:
    """Tell every part to stop at once, then wait for each in order, all within one
    deadline (inside the pod's grace period)."""
    for part in parts:
        part.request_stop()
    deadline = time.monotonic() + timeout
    for part in parts:
        part.shutdown(max(deadline - time.monotonic(), 0.0))
