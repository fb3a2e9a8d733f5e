"""The background worker loop: supervision, readiness and stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from api.runtime.workers import LoopWorker


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def failing() -> int:
    raise RuntimeError("database gone")


def test_a_failing_step_is_retried_and_never_kills_the_worker():
    calls: list[int] = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("transient")
        return 0

    worker = LoopWorker("flaky", flaky, idle_wait=0.01, restart_delay=0.01)
    worker.start()
    try:
        wait_for(lambda: len(calls) >= 3 and worker.last_error is None)
        assert worker.failures == 2 and worker.readiness()["ready"] is True
    finally:
        worker.shutdown(5)


def test_a_worker_that_never_succeeded_becomes_unready_after_stale_after():
    worker = LoopWorker("broken", failing, restart_delay=0.01, stale_after=0.2)
    worker.start()
    try:
        wait_for(lambda: worker.failures >= 1)
        wait_for(lambda: worker.readiness()["ready"] is False)
        assert worker.readiness()["lastError"] == "RuntimeError: database gone"
    finally:
        worker.shutdown(5)


def test_a_worker_that_stopped_succeeding_becomes_unready():
    succeed = threading.Event()
    succeed.set()

    def step() -> int:
        if not succeed.is_set():
            raise RuntimeError("stuck")
        return 0

    worker = LoopWorker("later", step, idle_wait=0.01, restart_delay=0.01, stale_after=0.3)
    worker.start()
    try:
        wait_for(lambda: worker.last_success is not None)
        assert worker.readiness()["ready"] is True
        succeed.clear()
        wait_for(lambda: worker.readiness()["ready"] is False)
    finally:
        worker.shutdown(5)


def test_request_stop_ends_the_idle_wait_at_once():
    worker = LoopWorker("idle", lambda: 0, idle_wait=60)
    worker.start()
    wait_for(lambda: worker.last_success is not None)
    began = time.monotonic()
    worker.request_stop()
    worker.shutdown(5)
    assert time.monotonic() - began < 5
    assert worker.readiness()["ready"] is False  # no thread any more
