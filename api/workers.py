"""Background workers of the process roles, and the loop they share.

A *worker* is whatever a role runs beside its HTTP endpoints: the STOMP consumer, the fraud
case opener, the statement inbox of the reconciliation, the notification dispatcher. The app
starts every worker in its lifespan, stops them on shutdown (SIGTERM) within one deadline and
reports each one's readiness under ``/readyz`` (``checks.workers``).

:class:`LoopWorker` is the common shape: call ``step()`` again and again in a supervised daemon
thread; a step that found nothing to do makes the loop wait ``idle_wait`` seconds (or until
:meth:`LoopWorker.wake`), a step that raised is logged with its traceback and retried after
``restart_delay`` so that no input crashes the worker. A step does one bounded piece of work
(one batch) and commits it, so stopping between two steps loses nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from api.observability import get_logger

log = get_logger("api.workers")


class Worker(Protocol):
    """What the app needs of a background worker."""

    name: str

    def start(self) -> None: ...

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop taking work, finish the piece in hand, return within ``timeout``."""
        ...

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
        """Unready when no step has completed for this long (None: never stale)."""
        self.stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_success: float | None = None

    def start(self) -> None:
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

    def shutdown(self, timeout: float = 30.0) -> None:
        self.stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("worker did not stop in time", worker=self.name, timeout=timeout)
                return
        log.info("worker stopped", worker=self.name, handled=self.handled)

    def readiness(self) -> dict[str, Any]:
        alive = self._thread is not None and self._thread.is_alive()
        stale = (
            self.stale_after is not None
            and self.last_success is not None
            and time.monotonic() - self.last_success > self.stale_after
        )
        return {
            "ready": alive and not stale,
            "handled": self.handled,
            "failures": self.failures,
            "lastError": self.last_error,
        }


def shutdown_all(workers: list[Worker], timeout: float) -> None:
    """Stop every worker within one deadline (the pod's grace period), last started first."""
    deadline = time.monotonic() + timeout
    for worker in reversed(workers):
        worker.shutdown(max(deadline - time.monotonic(), 0.0))
