"""The ``fraud`` role's background work: escalate fraud cases past the review deadline, and
keep the promoted model's drift gauges current.

Scoring itself runs in-process wherever payments are booked (the ingestion and api roles
call the model through the screening port); analysts review cases through the API. What
the fraud role adds is the sweep nobody triggers by hand: once a minute it escalates every
case whose payment has been held, undecided, longer than
``LEDGER_FRAUD_REVIEW_DEADLINE_MINUTES`` — an ``Escalated`` event by ``service:fraud``
that the queue shows (``escalatedAt``) and notification rules can fire on. Every
``LEDGER_FRAUD_MONITOR_INTERVAL_SECONDS`` it recomputes the drift of the promoted model's
population over the last ``LEDGER_FRAUD_MONITOR_WINDOW_HOURS``
(:mod:`adapters.fraud.drift_metrics`), served on ``/metrics``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from prometheus_client.registry import Collector

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.drift_metrics import DriftMonitor, artifact_reference
from api.runtime.bootstrap import Container
from api.runtime.workers import LoopWorker, Worker
from application.fraud.escalation import CaseEscalation
from domain.causation import Causation, caused_by
from projections.fraud.monitor import MonitorQueries

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
    return [worker, drift_worker(container)]


class DriftWorker(LoopWorker):
    """A loop worker whose gauges ``/metrics`` serves (:func:`api.http.app.create_app`
    registers every worker's ``collectors()``)."""

    def __init__(self, monitor: DriftMonitor, interval: float) -> None:
        self.monitor = monitor
        super().__init__("fraud-drift", self._step, idle_wait=interval, stale_after=10 * interval)

    def _step(self) -> int:
        self.monitor.run()
        return 0  # idle until the next interval

    def collectors(self) -> list[Collector]:
        return [self.monitor.gauges]


def drift_monitor(container: Container) -> DriftMonitor:
    settings = container.settings
    store = ArtifactStore(settings.data_dir / "models")
    queries = MonitorQueries(container.fraud_queries.engine)
    return DriftMonitor(
        container.fraud.promoted_version,
        artifact_reference(lambda version: store.load(version).meta),
        lambda since: queries.scored(since),
        container.ledger.clock,
        window=timedelta(hours=settings.fraud.monitor_window_hours),
        cases_per_day=settings.fraud.cases_per_day,
    )


def drift_worker(container: Container) -> DriftWorker:
    return DriftWorker(
        drift_monitor(container), float(container.settings.fraud.monitor_interval_seconds)
    )
