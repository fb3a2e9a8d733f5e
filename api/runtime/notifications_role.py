"""The ``notifications`` role's background workers: one evaluates the rules over the other
contexts' logs and schedules deliveries, one sends the deliveries that are due.

Both are :class:`~api.runtime.workers.LoopWorker` loops (idle wait about a second). A step is one
bounded batch, committed before the next: stopping between two steps loses nothing. The
sender finds due deliveries in the delivery read model, so a projector (thread or role)
must be following the ``notifications`` log for sends to start.

Only one replica works (the chart runs several): both workers of a process share one
:class:`~adapters.leadership.Leadership` named after the notifications context and the
database schema. A standby's steps do nothing (and try to take the leadership over on the
next step); the leader keeps it across steps, the sender checks it before every send (a lost
lock stops sending at once), and it is given up when both workers have shut down. A standby
is ready: it is waiting, not failing.
"""

from __future__ import annotations

import threading
from typing import Any

from adapters.leadership import Leadership
from api.runtime.bootstrap import Container
from api.runtime.workers import LoopWorker, Worker

IDLE_WAIT = 1.0
RETRY_LEADERSHIP = 2.0
"""How often a standby tries to take the leadership over (seconds)."""


def leadership_name(schema: str | None) -> str:
    """The notifications role's leader lock: one per database schema."""
    return f"{schema or ''}:notifications"


def notifications_leadership(
    container: Container, *, retry_after: float = RETRY_LEADERSHIP
) -> Leadership:
    return Leadership(
        container.read_engine,
        leadership_name(container.settings.database.schema_name),
        container.settings.data_dir,
        file_prefix="notifications",
        retry_after=retry_after,
    )


class _Shared:
    """The leadership of the role's workers, given up when the last of them has stopped."""

    def __init__(self, leadership: Leadership, users: int) -> None:
        self.leadership = leadership
        self._users = users
        self._lock = threading.Lock()

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users <= 0
        if last:
            self.leadership.release()


class LeaderLoopWorker(LoopWorker):
    """A :class:`LoopWorker` of the notifications role (its readiness shows the leadership)."""

    def __init__(self, name: str, shared: _Shared, step: Any, *, idle_wait: float) -> None:
        super().__init__(name, step, idle_wait=idle_wait)
        self._shared = shared

    @property
    def leadership(self) -> Leadership:
        return self._shared.leadership

    def shutdown(self, timeout: float = 30.0) -> None:
        super().shutdown(timeout)
        self._shared.leave()

    def readiness(self) -> dict[str, Any]:
        return {**super().readiness(), "leader": self.leadership.is_leader}


def notification_workers(
    container: Container,
    *,
    idle_wait: float = IDLE_WAIT,
    leadership: Leadership | None = None,
    retry_leadership: float = RETRY_LEADERSHIP,
) -> list[Worker]:
    """The rule evaluator and the sender of ``container`` as workers, gated on one
    leadership."""
    evaluator = container.notification_evaluator
    sender = container.notification_sender
    elected = leadership or notifications_leadership(container, retry_after=retry_leadership)
    shared = _Shared(elected, 2)

    def evaluate() -> int:
        return evaluator.step() if elected.leading() else 0

    def send() -> int:
        return sender.step(still_leading=elected.leading) if elected.leading() else 0

    return [
        LeaderLoopWorker("notification-rules", shared, evaluate, idle_wait=idle_wait),
        LeaderLoopWorker("notification-sender", shared, send, idle_wait=idle_wait),
    ]
