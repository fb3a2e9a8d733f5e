"""Drift of the promoted fraud model as Prometheus gauges, recomputed by the ``fraud`` role.

:class:`DriftMonitor` reads the screenings of the last ``window`` (``rm_fraud_scores``),
compares them with the promoted model's reference (:mod:`adapters.fraud.reference`) and keeps
the result for :class:`DriftGauges`, which ``/metrics`` reads at scrape time:

* ``ledger_fraud_feature_psi{feature, channel}``: PSI per feature, over ``all`` channels and
  per channel;
* ``ledger_fraud_score_psi{channel}``: PSI of the promoted model's score;
* ``ledger_fraud_monitored_payments{channel}``: the screenings the figures are over;
* ``ledger_fraud_drifting_features``: how many features are above 0.2 over all channels;
* ``ledger_fraud_capacity_review_threshold``: the review score giving about
  ``LEDGER_FRAUD_CASES_PER_DAY`` cases a day (only when that is set);
* ``ledger_fraud_monitor_last_run_timestamp_seconds``.

Label values are bounded: features are the promoted model's own list, channels the
:data:`~adapters.fraud.monitoring.MAX_CHANNELS` busiest plus ``other`` and ``all``. A
window with too few screenings for an index gives no sample rather than a noisy one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.fraud.monitoring import ALL, DriftReport, drift_report, model_rows, reference_of
from domain.fraud.drift import Bins, capacity_threshold
from projections.fraud.monitor import ScoredPayment


@dataclass(frozen=True)
class DriftSnapshot:
    report: DriftReport | None
    capacity_threshold: Decimal | None
    at: float


class DriftGauges(Collector):
    """The last :class:`DriftSnapshot` as gauges (read at scrape time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: DriftSnapshot | None = None

    def update(self, snapshot: DriftSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            snapshot = self._snapshot
        if snapshot is None:
            return []
        features = GaugeMetricFamily(
            "ledger_fraud_feature_psi",
            "Population stability index of a feature of the promoted fraud model against its "
            "training data, over the monitoring window (> 0.2 drifting, > 0.1 watch)",
            labels=["feature", "channel"],
        )
        score = GaugeMetricFamily(
            "ledger_fraud_score_psi",
            "Population stability index of the promoted fraud model's score",
            labels=["channel"],
        )
        payments = GaugeMetricFamily(
            "ledger_fraud_monitored_payments",
            "Screenings of the promoted model in the monitoring window",
            labels=["channel"],
        )
        drifting = GaugeMetricFamily(
            "ledger_fraud_drifting_features",
            "Features of the promoted fraud model with a PSI above 0.2 over all channels",
        )
        last = GaugeMetricFamily(
            "ledger_fraud_monitor_last_run_timestamp_seconds",
            "When the drift gauges were last computed (Unix time)",
        )
        last.add_metric([], snapshot.at)
        families = [features, score, payments, drifting, last]
        report = snapshot.report
        if report is not None:
            for drift in [*report.features, report.score]:
                target = score if drift is report.score else features
                for channel, value in [(ALL, drift.psi), *drift.per_channel.items()]:
                    if value is None:
                        continue
                    labels = [channel] if target is score else [drift.name, channel]
                    target.add_metric(labels, value)
            payments.add_metric([ALL], report.rows)
            for channel, count in report.channels.items():
                payments.add_metric([channel], count)
            drifting.add_metric([], len(report.flagged()))
        if snapshot.capacity_threshold is not None:
            capacity = GaugeMetricFamily(
                "ledger_fraud_capacity_review_threshold",
                "The review score that would have opened about LEDGER_FRAUD_CASES_PER_DAY "
                "cases a day over the monitoring window",
            )
            capacity.add_metric([], float(snapshot.capacity_threshold))
            families.append(capacity)
        return families


Reference = tuple[dict[str, Bins], Bins]


class DriftMonitor:
    """One step of the fraud role's drift job: read the window, compute, update the gauges."""

    def __init__(
        self,
        promoted: Callable[[], str | None],
        reference: Callable[[str], Reference | None],
        scored: Callable[[datetime], Sequence[ScoredPayment]],
        clock: Callable[[], datetime],
        *,
        window: timedelta,
        cases_per_day: int | None = None,
        gauges: DriftGauges | None = None,
    ) -> None:
        self.promoted = promoted
        self.reference = reference
        self.scored = scored
        self.clock = clock
        self.window = window
        self.cases_per_day = cases_per_day
        self.gauges = gauges or DriftGauges()
        self._references: dict[str, Reference | None] = {}

    def run(self) -> DriftSnapshot:
        version = self.promoted()
        report: DriftReport | None = None
        capacity: Decimal | None = None
        if version is not None:
            if version not in self._references:  # artifacts never change: read once
                self._references[version] = self.reference(version)
            reference = self._references[version]
            rows = self.scored(self.clock() - self.window)
            if reference is not None:
                report = drift_report(rows, version, *reference)
            scores = [Decimal(str(r.score)) for r in model_rows(rows, version)]
            if self.cases_per_day is not None and scores:
                days = self.window.total_seconds() / 86400
                capacity = capacity_threshold(scores, days, self.cases_per_day).threshold
        snapshot = DriftSnapshot(report, capacity, time.time())
        self.gauges.update(snapshot)
        return snapshot


def artifact_reference(load_meta: Callable[[str], dict[str, Any]]) -> Callable[[str], Any]:
    """A model's stored reference by version (None for a model trained without one)."""

    def reference(version: str) -> Reference | None:
        return reference_of(load_meta(version))

    return reference
