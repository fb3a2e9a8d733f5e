"""Prometheus metrics of the ingestion consumer and the outbox publisher.

Registered on the process's registry (the one ``/metrics`` serves), so the ingestion
role and the all-in-one process expose them the same way. The two labelled counters take
their values through :class:`~adapters.metric_labels.BoundedLabel` (:meth:`count_booked`,
:meth:`count_dead_lettered`): the codes are the adapter's own, but a code built from a
message must never add series per message.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from adapters.metric_labels import BoundedLabel

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CODE_SHAPE = r"[a-zA-Z][a-zA-Z0-9_.-]{0,47}"
"""What a status or dead-letter reason looks like (``BOOKED``, ``schema-violation``)."""


class IngestionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumed = Counter(
            "ledger_ingestion_consumed_messages",
            "Messages taken from the ingestion queue (redeliveries included)",
            registry=registry,
        )
        self.booked = Counter(
            "ledger_ingestion_booked_payments",
            "Payments booked from the queue, by resulting status",
            ["status"],
            registry=registry,
        )
        self.duplicates = Counter(
            "ledger_ingestion_duplicate_payments",
            "Payments whose idempotency key was already booked (answered, not booked again)",
            registry=registry,
        )
        self.dead_lettered = Counter(
            "ledger_ingestion_dead_lettered_messages",
            "Messages moved to the dead-letter queue, by reason",
            ["reason"],
            registry=registry,
        )
        self.retried = Counter(
            "ledger_ingestion_retried_batches",
            "Batch attempts repeated after a transient failure (database, conflict)",
            registry=registry,
        )
        self.forwarded = Counter(
            "ledger_ingestion_forwarded_messages",
            "Messages forwarded to the queue of a partition another replica holds",
            registry=registry,
        )
        self.partitions_owned = Gauge(
            "ledger_ingestion_partitions_owned",
            "Partitions whose accounts this replica writes (partitioned ingestion)",
            registry=registry,
        )
        self.reconnects = Counter(
            "ledger_ingestion_broker_reconnects",
            "Broker sessions opened after the first (dropped connections survived)",
            registry=registry,
        )
        self.batch_size = Histogram(
            "ledger_ingestion_batch_size",
            "Messages per database transaction",
            buckets=(1, 5, 10, 25, 50, 100, 200, 500, 1000),
            registry=registry,
        )
        self.latency = Histogram(
            "ledger_ingestion_end_to_end_seconds",
            "From the sender's timestamp (x-sent-at or timestamp header) to booked and acked",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.connected = Gauge(
            "ledger_ingestion_broker_connected",
            "1 while the consumer holds a subscribed broker session",
            registry=registry,
        )
        self.published = Counter(
            "ledger_outbox_published_events",
            "Booked outcomes published to the events topic",
            registry=registry,
        )
        self.outbox_position = Gauge(
            "ledger_outbox_position",
            "Notification id up to which outcomes have been published",
            registry=registry,
        )
        self._status = BoundedLabel(pattern=CODE_SHAPE, max_values=16)
        self._reason = BoundedLabel(pattern=CODE_SHAPE, max_values=32)

    def count_booked(self, status: str) -> None:
        self.booked.labels(self._status(status)).inc()

    def count_dead_lettered(self, reason: str) -> None:
        self.dead_lettered.labels(self._reason(reason)).inc()
