"""The capacity model: what bounds the payments/s of N writers, and what a target needs.

One writer books a batch of ``B`` payments per cycle of ``c`` seconds, of which it holds its
event table's exclusive lock for ``h`` (lock granted to COMMIT acknowledged). Then, with
``cores`` CPUs free for the writers and PostgreSQL and ``u`` CPU-seconds per payment
(writer + backend):

* demand: ``N * B / c`` — the writers' own pace (each is single-threaded);
* the lock, per table: ``B / (h - e)`` — one table's inserts are serial (eventsourcing's
  ``LOCK TABLE ... IN EXCLUSIVE MODE`` keeps notification ids in commit order), except the
  client's encoding of the batch (``e``), which a queued writer does while it waits;
* CPU: ``cores / u``.

N writers on one table reach ``min(demand, lock, CPU)``; on a table each ``min(demand, N *
lock, CPU)``. :func:`predict` says which bound wins; the benchmark compares it with a
measured run. :func:`plan` applies the same bounds to a target rate with headroom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    """One writer alone on a table, at one batch size (measured)."""

    payments_per_batch: int
    hold_s: float
    """Mean lock hold per batch."""
    cycle_s: float
    """Wall time per batch (the writer's pace)."""
    encode_s: float
    """Client time to encode the batch, inside the hold when alone, overlapped with another
    writer's hold when queued (eventsourcing sends the LOCK before encoding)."""
    before_insert_s: float
    """Mean time the lock was held before the INSERT started (encoding, transfer, parse)."""
    cpu_per_payment_s: float
    """Writer process + its PostgreSQL backend."""

    @property
    def serial_s(self) -> float:
        """The part of the hold no other writer can overlap: the server's part. The encoding
        is measured apart from the hold, so it is capped by the time before the INSERT."""
        return max(self.hold_s - min(self.encode_s, self.before_insert_s), 1e-6)

    @property
    def lock_ceiling(self) -> float:
        """Payments/s one table's lock lets through at this batch size with writers queued
        on it (each encodes its batch while it waits)."""
        return self.payments_per_batch / self.serial_s


@dataclass(frozen=True)
class Prediction:
    rate: float
    bound: str


def predict(writers: int, calibration: Calibration, cores: float, *, shared: bool) -> Prediction:
    """Payments/s of ``writers`` writers on one table (``shared``) or a table each."""
    tables = 1 if shared else writers
    bounds = {
        "writers' pace": writers * calibration.payments_per_batch / calibration.cycle_s,
        "table lock": tables * calibration.lock_ceiling,
        "CPU": cores / calibration.cpu_per_payment_s,
    }
    bound = min(bounds, key=lambda name: bounds[name])
    return Prediction(bounds[bound], bound)


@dataclass(frozen=True)
class Costs:
    """Per-payment costs (measured) and per-resource budgets (assumed, with headroom)."""

    lock_ceiling: float
    """Payments/s through one table's lock at the production batch size."""
    role_cpu_s: float
    """Role process CPU per payment (the profile of ``ledger serve --role ingestion``)."""
    pod_rate: float
    """Payments/s one ingestion process sustains (GIL-bound: ~one core)."""
    db_cpu_s: float
    """PostgreSQL CPU per payment (backend of the writer)."""
    wal_bytes: float
    """WAL bytes per payment."""
    projector_rate: float
    """Payments/s one projector process follows (its events/s over events per payment)."""
    outbox_rate: float
    """Payments/s one outbox publisher publishes (one core over its CPU per payment)."""
    lock_utilisation: float = 0.5
    """Share of a table's lock time to plan for (queueing grows fast beyond ~50 %)."""
    pod_utilisation: float = 0.7
    writer_cores: float = 32.0
    """Usable cores of one database writer instance (assumed: half of a 64-vCPU instance)."""
    writer_wal_bytes_s: float = 200e6
    """Sustained WAL one writer instance takes (assumed; Aurora ships it to its storage)."""


@dataclass(frozen=True)
class Plan:
    target: float
    pods: int
    partitions: int
    tables: int
    """Event tables (each its own lock, projector and outbox publisher)."""
    db_cores: float
    wal_bytes_s: float
    writers: int
    """Database writer instances (clusters): the larger of the CPU and WAL needs."""
    first_bound: str
    """What saturates first when one table on one writer takes the load."""
    single_table_rates: dict[str, float]


def plan(target: float, costs: Costs) -> Plan:
    """Pods, partitions, event tables and database writers for ``target`` payments/s."""
    pods = math.ceil(target / (costs.pod_rate * costs.pod_utilisation))
    # a table's singletons (its projector, its outbox publisher) follow the table: a table
    # takes no more than the slowest of its lock and its singletons
    per_table = min(
        costs.lock_ceiling * costs.lock_utilisation,
        costs.projector_rate * costs.pod_utilisation,
        costs.outbox_rate * costs.pod_utilisation,
    )
    tables = math.ceil(target / per_table)
    partitions = 2 ** math.ceil(math.log2(max(2 * pods, tables, 2)))
    db_cores = target * costs.db_cpu_s
    wal = target * costs.wal_bytes
    writers = max(
        math.ceil(db_cores / costs.writer_cores), math.ceil(wal / costs.writer_wal_bytes_s), 1
    )
    single = {
        "table lock": costs.lock_ceiling,
        "projector (one per table)": costs.projector_rate,
        "outbox publisher (one per table)": costs.outbox_rate,
        "database CPU (one writer)": costs.writer_cores / costs.db_cpu_s,
        "WAL (one writer)": costs.writer_wal_bytes_s / costs.wal_bytes,
    }
    first = min(single, key=lambda name: single[name])
    return Plan(target, pods, partitions, tables, db_cores, wal, writers, first, single)
