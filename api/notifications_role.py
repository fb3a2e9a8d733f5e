"""The ``notifications`` role's background workers: one evaluates the rules over the other
contexts' logs and schedules deliveries, one sends the deliveries that are due.

Both are :class:`~api.workers.LoopWorker` loops (idle wait about a second). A step is one
bounded batch, committed before the next: stopping between two steps loses nothing. The
sender finds due deliveries in the delivery read model, so a projector (thread or role)
must be following the ``notifications`` log for sends to start.
"""

from __future__ import annotations

from api.bootstrap import Container
from api.workers import LoopWorker, Worker

IDLE_WAIT = 1.0


def notification_workers(container: Container, *, idle_wait: float = IDLE_WAIT) -> list[Worker]:
    """The rule evaluator and the sender of ``container`` as workers (none when the container
    has no notifications context)."""
    evaluator = container.notification_evaluator
    sender = container.notification_sender
    workers: list[Worker] = []
    if evaluator is not None:
        workers.append(LoopWorker("notification-rules", evaluator.step, idle_wait=idle_wait))
    if sender is not None:
        workers.append(LoopWorker("notification-sender", sender.step, idle_wait=idle_wait))
    return workers
