"""The tables :mod:`benchmarks.capacity` prints (one function per table)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from rich.table import Table

from benchmarks.capacity.model import Calibration, Costs, Plan, predict
from benchmarks.capacity.payments import Sample
from benchmarks.capacity.recorder import InsertWal
from benchmarks.capacity.writers import WriterResult, free_cores


@dataclass(frozen=True)
class Sweep:
    """One writer alone at one batch size: its results and the WAL it wrote."""

    results: list[WriterResult]
    server_wal_bytes: int
    """``pg_wal_lsn_diff`` over the run: the whole server's WAL (others' too)."""
    own_wal: list[InsertWal]
    """``EXPLAIN (ANALYZE, WAL)`` of a few batches of the same size, just after."""
    encode_s: float
    """Client time to encode one batch (mean of a few, just after)."""

    @property
    def payments(self) -> int:
        return sum(r.payments for r in self.results)

    def own_wal_per_payment(self, size: int) -> float:
        return statistics.fmean(w.bytes for w in self.own_wal) / size


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def render_sample(sample: Sample, bytes_per_row: float) -> Table:
    table = Table(
        title=f"What a payment costs the store ({sample.payments:,} internal transfers booked)"
    )
    table.add_column("figure")
    table.add_column("per payment", justify="right")
    table.add_column("note")
    per = sample.payments
    table.add_row(
        "rows in ledger_events",
        f"{sample.rows_per_payment:.2f}",
        "events of the transaction and both accounts",
    )
    table.add_row(
        "event state (JSON) bytes", f"{sample.state_bytes / per:,.0f}", "octet_length(state)"
    )
    table.add_row("row bytes", f"{sample.row_bytes / per:,.0f}", "pg_column_size of the rows")
    table.add_row(
        "table + index bytes",
        f"{sample.relation_bytes / per:,.0f}",
        "pg_total_relation_size growth",
    )
    table.add_row(
        "table + index bytes (timed writers)",
        f"{bytes_per_row * sample.rows_per_payment:,.0f}",
        "the benchmark's own table, all runs",
    )
    table.add_row(
        "WAL bytes (booking through the app)",
        f"{sample.wal_bytes / per:,.0f}",
        "pg_wal_lsn_diff; whole server",
    )
    table.add_row(
        "booking rate through the app",
        f"{per / sample.seconds:,.0f}/s",
        "one process, in-process calls, no broker",
    )
    return table


def render_lock(
    sweep: dict[int, Sweep], size_of_variants: int, variants: dict[str, Sweep]
) -> Table:
    """One row per batch size of the production insert, then one per other insert path (at
    ``size_of_variants``), labelled ``size, name``."""
    table = Table(
        title="One writer alone: the table lock per batch (lock granted -> COMMIT acknowledged)"
    )
    for column in (
        "payments / batch",
        "events / batch",
        "batches",
        "hold mean ms",
        "hold p95 ms",
        "of it before the INSERT ms",
        "client encoding ms",
        "wait ms",
        "payments/s",
        "lock ceiling alone (B / hold)",
        "lock ceiling queued (B / (hold - encoding))",  # encoding capped by "before"
    ):
        table.add_column(column, justify="right")
    rows = [(str(size), size, run) for size, run in sorted(sweep.items())]
    rows += [
        (f"{size_of_variants}, {name}", size_of_variants, run) for name, run in variants.items()
    ]
    for label, size, run in rows:
        timings = [t for r in run.results for t in r.timings]
        elapsed = max(r.elapsed_s for r in run.results)
        hold = statistics.fmean(t.hold_s for t in timings)
        before = statistics.fmean(t.before_insert_s for t in timings)
        table.add_row(
            label,
            f"{statistics.fmean(t.events for t in timings):,.0f}",
            f"{len(timings):,}",
            _ms(hold),
            _ms(_quantile([t.hold_s for t in timings], 0.95)),
            _ms(before),
            _ms(run.encode_s),
            _ms(statistics.fmean(t.wait_s for t in timings)),
            f"{run.payments / elapsed:,.0f}",
            f"{size / hold:,.0f}",
            f"{size / max(hold - min(run.encode_s, before), 1e-6):,.0f}",
        )
    return table


def render_costs(sweep: dict[int, Sweep]) -> Table:
    table = Table(title="One writer alone: WAL and CPU per payment")
    for column in (
        "payments / batch",
        "WAL bytes (own INSERT)",
        "full page images",
        "WAL bytes (whole server)",
        "writer CPU ms",
        "PostgreSQL CPU ms",
    ):
        table.add_column(column, justify="right")
    for size, run in sorted(sweep.items()):
        payments = run.payments
        table.add_row(
            f"{size}",
            f"{run.own_wal_per_payment(size):,.0f}",
            f"{statistics.fmean(w.full_page_images for w in run.own_wal) / size:.2f}",
            f"{run.server_wal_bytes / payments:,.0f}",
            _ms(sum(r.cpu_s for r in run.results) / payments),
            _ms(sum(r.backend_cpu_s for r in run.results) / payments),
        )
    return table


def render_concurrency(
    runs: list[tuple[int, str, list[WriterResult]]], calibration: Calibration
) -> Table:
    table = Table(
        title=(
            f"N writers, batches of {calibration.payments_per_batch}: measured vs the model "
            f"(calibrated on one writer: hold {_ms(calibration.hold_s)} ms of which encoding "
            f"{_ms(calibration.encode_s)} ms, cycle {_ms(calibration.cycle_s)} ms, "
            f"{_ms(calibration.cpu_per_payment_s)} CPU ms/payment; the cores free during each run)"
        )
    )
    for column in (
        "writers",
        "tables",
        "cores free",
        "measured payments/s",
        "model payments/s",
        "model's bound",
        "measured / model",
        "lock busy",
        "mean wait ms",
        "mean hold ms",
    ):
        table.add_column(column, justify="right")
    for writers, mode, results in runs:
        payments = sum(r.payments for r in results)
        elapsed = max(r.elapsed_s for r in results)
        timings = [t for r in results for t in r.timings]
        cores = free_cores(results)
        prediction = predict(writers, calibration, cores, shared=mode == "one table")
        busy = sum(t.hold_s for t in timings) / elapsed / (1 if mode == "one table" else writers)
        measured = payments / elapsed
        table.add_row(
            str(writers),
            mode,
            f"{cores:.2f}",
            f"{measured:,.0f}",
            f"{prediction.rate:,.0f}",
            prediction.bound,
            f"{measured / prediction.rate:.2f}",
            f"{100 * busy:.0f} %",
            _ms(statistics.fmean(t.wait_s for t in timings)),
            _ms(statistics.fmean(t.hold_s for t in timings)),
        )
    return table


def render_plan(plans: list[Plan], costs: Costs) -> Table:
    table = Table(
        title=(
            f"The model applied to the targets (measured: queued lock ceiling "
            f"{costs.lock_ceiling:,.0f}/s per table, WAL {costs.wal_bytes:,.0f} B/payment; from "
            f"benchmarks.profile_ingestion: role CPU {costs.role_cpu_s * 1e3:.2f} ms/payment, "
            f"PG CPU {costs.db_cpu_s * 1e3:.2f} ms/payment, outbox "
            f"{1000 / costs.outbox_rate:.2f} ms/payment; python -m benchmarks: a projector "
            f"{costs.projector_rate:,.0f} payments/s; assumed: "
            f"lock {costs.lock_utilisation:.0%}, pods and singletons "
            f"{costs.pod_utilisation:.0%} busy, a DB writer = {costs.writer_cores:g} usable "
            f"cores and {costs.writer_wal_bytes_s / 1e6:g} MB/s WAL)"
        )
    )
    for column in (
        "payments/s",
        "ingestion pods",
        "partitions",
        "event tables",
        "DB CPU cores",
        "WAL MB/s",
        "DB writers",
        "one table on one writer saturates first at",
    ):
        table.add_column(column, justify="right")
    for p in plans:
        first = f"{p.first_bound}: {p.single_table_rates[p.first_bound]:,.0f}/s"
        table.add_row(
            f"{p.target:,.0f}",
            str(p.pods),
            str(p.partitions),
            str(p.tables),
            f"{p.db_cores:.1f}",
            f"{p.wal_bytes_s / 1e6:.1f}",
            str(p.writers),
            first,
        )
    return table


def render_saturation(p: Plan, proposed: dict[str, float]) -> Table:
    """Each resource's rate with one event table on one database writer, lowest first, and
    the rates the proposed changes would give (marked, not in the plan)."""
    table = Table(title="Saturation: one table, one DB writer")
    table.add_column("resource")
    table.add_column("payments/s", justify="right")
    for name, rate in sorted(p.single_table_rates.items(), key=lambda item: item[1]):
        table.add_row(name, f"{rate:,.0f}")
    for name, rate in proposed.items():
        table.add_row(f"{name} (proposed, measured)", f"{rate:,.0f}")
    return table
