"""``python -m benchmarks.capacity [--quick] [--batch-sizes 50,200,500] [--batch 200]
[--writers 1,2,4] [--seconds S] [--sample N] [--role-cpu-ms MS] [--role-db-cpu-ms MS]
[--outbox-cpu-ms MS] [--projector-events-s N] [--targets 10000,100000]``

Measures, on a fresh PostgreSQL schema (see :mod:`benchmarks.capacity`):

1. what a payment costs the store: ``--sample`` internal transfers booked through the ledger
   application, their rows, bytes and WAL;
2. per batch size, one writer alone: the exclusive table lock's hold per batch (lock granted
   to COMMIT), the wait for it, WAL bytes and CPU per payment (writer and backend);
3. at ``--batch``: 1, 2, 4 writer processes on one table and on a table each, measured,
   next to what the model predicts from step 2 (:mod:`.model`);
4. the model applied to ``--targets``: ingestion pods, partitions, event tables, database
   writers, and what saturates first.

Prints the machine (with its load average: others share it), the command and the tables.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

import psycopg
from rich.console import Console

from benchmarks.__main__ import render_machine
from benchmarks.arguments import counts
from benchmarks.capacity.model import Calibration, Costs, plan
from benchmarks.capacity.payments import Sample, batch, sample_payments
from benchmarks.capacity.recorder import (
    TABLE_PREFIX,
    InsertWal,
    encoding_s,
    explain_wal,
    timed_recorder,
)
from benchmarks.capacity.report import (
    Sweep,
    render_concurrency,
    render_costs,
    render_lock,
    render_plan,
    render_sample,
    render_saturation,
)
from benchmarks.capacity.writers import WriterResult, WriterSpec, run_writers
from benchmarks.environment import fresh_store, load_average

WAL_BATCHES = 3
"""Batches inserted under ``EXPLAIN (ANALYZE, WAL)`` per batch size."""
ROLE_CPU_MS = 1.0
"""Role process CPU per payment measured by ``python -m benchmarks.profile_ingestion``
(docs/capacity.md): the default of ``--role-cpu-ms``."""
ROLE_DB_CPU_MS = 0.10
"""PostgreSQL CPU per payment of that process's backends (reads included), the same
profile: the plan takes the larger of it and this benchmark's insert-only figure."""
OUTBOX_CPU_MS = 0.25
"""CPU per payment of the outbox publisher thread, the same profile."""
PROJECTOR_EVENTS_S = 5_928
"""Projection catch-up of one projector on PostgreSQL, events/s (``python -m benchmarks``,
docs/benchmarks.md): a table's projector must follow the table."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.capacity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--batch-sizes", type=counts, default=[50, 200, 500])
    parser.add_argument("--batch", type=int, default=200, help="batch of the writers' runs")
    parser.add_argument("--writers", type=counts, default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=6.0, help="per measured run")
    parser.add_argument("--sample", type=int, default=2_000, help="payments booked for real")
    parser.add_argument("--role-cpu-ms", type=float, default=ROLE_CPU_MS)
    parser.add_argument("--role-db-cpu-ms", type=float, default=ROLE_DB_CPU_MS)
    parser.add_argument("--outbox-cpu-ms", type=float, default=OUTBOX_CPU_MS)
    parser.add_argument("--projector-events-s", type=float, default=PROJECTOR_EVENTS_S)
    parser.add_argument("--targets", type=counts, default=[10_000, 100_000])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes, args.writers, args.seconds, args.sample = [50, 200], [1, 2], 1.0, 200
    if args.batch not in args.batch_sizes:
        args.batch_sizes = sorted({*args.batch_sizes, args.batch})
    return args


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    console = Console()
    started = time.perf_counter()
    load_before = load_average()
    with fresh_store("postgres") as database:
        url, schema = str(database.url), str(database.schema)
        console.log(f"booking {args.sample:,} payments through the ledger application ...")
        sample = sample_payments(url, schema, database.data_dir, args.sample, args.batch)
        timed_recorder(url, schema, create_table=True).datastore.close()
        sweep: dict[int, Sweep] = {}
        for size in args.batch_sizes:
            console.log(f"one writer, batches of {size} payments, {args.seconds:g} s ...")
            results, server_wal = _with_wal(url, partial(_run, url, [schema], size, sample, args))
            sweep[size] = Sweep(results, server_wal, *_after(url, schema, size, sample))
        console.log(f"one writer, batches of {args.batch}, typed arrays (the proposed insert) ...")
        arrays_run = partial(_run, url, [schema], args.batch, sample, args, "typed arrays")
        results, server_wal = _with_wal(url, arrays_run)
        variants = {
            "typed arrays": Sweep(
                results, server_wal, *_after(url, schema, args.batch, sample, "typed arrays")
            )
        }
        separate = [f"{schema}_w{i}" for i in range(max(args.writers))]
        with psycopg.connect(url, autocommit=True) as conn:
            for name in separate:
                conn.execute(f'CREATE SCHEMA "{name}"')
        try:
            for name in separate:
                timed_recorder(url, name, create_table=True).datastore.close()
            concurrent: list[tuple[int, str, list[WriterResult]]] = []
            for writers in args.writers:
                for mode, schemas in (
                    ("one table", [schema] * writers),
                    ("a table each", separate[:writers]),
                ):
                    console.log(f"{writers} writer(s), {mode}, batches of {args.batch} ...")
                    concurrent.append((writers, mode, _run(url, schemas, args.batch, sample, args)))
            with psycopg.connect(url, autocommit=True) as conn:
                table = f'"{schema}".{TABLE_PREFIX}_events'
                stored = conn.execute(
                    f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}"
                ).fetchone()
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                for name in separate:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    assert stored is not None
    bytes_per_row = int(stored[1]) / max(int(stored[0]), 1)
    machine = render_machine(
        "python -m benchmarks.capacity " + shlex.join(given), time.perf_counter() - started
    )
    machine.add_row("load average (1, 5, 15 min)", f"{load_before} before, {load_average()} after")
    console.print(machine)
    console.print(render_sample(sample, bytes_per_row))
    console.print(render_lock(sweep, args.batch, variants))
    console.print(render_costs(sweep))
    calibration = _calibration(args.batch, sweep[args.batch])
    console.print(render_concurrency(concurrent, calibration))
    single = sweep[args.batch].results
    costs = Costs(
        lock_ceiling=calibration.lock_ceiling,
        role_cpu_s=args.role_cpu_ms / 1000,
        pod_rate=1000 / args.role_cpu_ms,
        db_cpu_s=max(
            sum(r.backend_cpu_s for r in single) / max(sum(r.payments for r in single), 1),
            args.role_db_cpu_ms / 1000,
        ),
        # the median over the batch sizes: one sample may follow a checkpoint (its full page
        # images triple the WAL; Aurora writes none)
        projector_rate=args.projector_events_s / sample.rows_per_payment,
        outbox_rate=1000 / args.outbox_cpu_ms,
        wal_bytes=statistics.median(run.own_wal_per_payment(size) for size, run in sweep.items()),
    )
    plans = [plan(target, costs) for target in args.targets]
    console.print(render_plan(plans, costs))
    arrays = _calibration(args.batch, variants["typed arrays"])
    console.print(render_saturation(plans[0], {"table lock, typed arrays": arrays.lock_ceiling}))
    return 0


def _run(
    url: str,
    schemas: list[str],
    size: int,
    sample: Sample,
    args: argparse.Namespace,
    variant: str = "production",
) -> list[WriterResult]:
    specs = [
        WriterSpec(url, name, size, sample.rows_per_payment, args.seconds, variant)
        for name in schemas
    ]
    return run_writers(specs, sample.templates)


def _with_wal(url: str, run: Callable[[], list[WriterResult]]) -> tuple[list[WriterResult], int]:
    """``run()`` and the server's WAL bytes written meanwhile."""
    with psycopg.connect(url, autocommit=True) as conn:
        before = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        results = run()
        diff = conn.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)",
            (before[0] if before else None,),
        ).fetchone()
    return results, int(diff[0]) if diff else 0


def _after(
    url: str, schema: str, size: int, sample: Sample, variant: str = "production"
) -> tuple[list[InsertWal], float]:
    """The WAL of a few batches' INSERTs and the client time to encode a batch."""
    recorder = timed_recorder(url, schema, variant=variant)
    try:
        batches = [
            batch(sample.templates, size, sample.rows_per_payment) for _ in range(WAL_BATCHES)
        ]
        encode = statistics.fmean(encoding_s(recorder, events) for events in batches)
        return [explain_wal(recorder, events) for events in batches], encode
    finally:
        recorder.datastore.close()


def _calibration(size: int, run: Sweep) -> Calibration:
    results = run.results
    timings = [t for r in results for t in r.timings]
    payments = sum(r.payments for r in results)
    return Calibration(
        payments_per_batch=size,
        hold_s=statistics.fmean(t.hold_s for t in timings),
        cycle_s=sum(r.elapsed_s for r in results) / len(timings),
        encode_s=run.encode_s,
        before_insert_s=statistics.fmean(t.before_insert_s for t in timings),
        cpu_per_payment_s=sum(r.cpu_s + r.backend_cpu_s for r in results) / payments,
    )


if __name__ == "__main__":
    raise SystemExit(main())
