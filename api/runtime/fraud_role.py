"""The ``fraud`` role's background work: escalate fraud cases past the review deadline.

Scoring itself runs in-process wherever payments are booked (the ingestion and api roles
call the model through the screening port); analysts review cases through the API. What
the fraud role adds is the sweep nobody triggers by hand: once a minute it escalates every
case whose payment has been held, undecided, longer than
``LEDGER_FRAUD_REVIEW_DEADLINE_MINUTES`` — an ``Escalated`` event by ``service:fraud``
that the queue shows (``escalatedAt``) and notification rules can fire on.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from api.runtime.bootstrap import Container
from api.runtime.workers import LoopWorker, Worker
from application.fraud.escalation import CaseEscalation
from domain.causation import Causation, caused_by

SWEEP_INTERVAL_SECONDS = 60.0


def case_escalation(container: Container) -> CaseEscalation:
    return CaseEscalation(
        container.fraud,
        container.ledger,
        container.fraud_queries.overdue,
        clock=container.ledger.clock,
        deadline=timedelta(minutes=container.settings.fraud.review_deadline_minutes),
    )


def fraud_workers(container: Container) -> list[Worker]:
    escalation = case_escalation(container)

    def sweep() -> int:
        causation = Causation(
            actor="service:fraud", correlation_id=f"escalation-{uuid.uuid4()}", channel="SYSTEM"
        )
        with caused_by(causation):
            # After a sweep that escalated some, the next one starts at once (more may be
            # waiting); the read model may still list the escalated ones, which the
            # aggregate check skips, so that sweep finds 0 and the worker idles.
            return escalation.sweep(should_stop=worker.stop.is_set)

    worker = LoopWorker(
        "fraud-escalation",
        sweep,
        idle_wait=SWEEP_INTERVAL_SECONDS,
        stale_after=10 * SWEEP_INTERVAL_SECONDS,
    )
    return [worker]
