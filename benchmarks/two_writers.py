"""``python -m benchmarks.two_writers [--writers 2] [--batches 40] [--quick]``: what conflicts cost.

Two writer processes (each a ``LedgerApplication`` with its own working set, as two ingestion
replicas are) book batches of ``--batch-size`` random internal transfers among ``--accounts``
accounts on one PostgreSQL store, at the same time; then one batch writer beside a REST-like
writer (single payments at ``--single-rate`` a second: the rare conflicts of a partitioned
ledger, where a REST write lands on an account whose partition another process owns); then,
for reference, one process alone.
Prints payments/s, commits that conflicted per batch, and aggregates read from the store per
batch (the working set spares the reads of accounts it holds; a retry reads what it must), and
how many times a batch gave up (``ConcurrencyExhausted`` after 8 conflicting attempts; it is
submitted again, as a redelivered message would be).
At the end every payment must be booked exactly once and the balances must sum to zero.
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import shlex
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import IntegrityError
from rich.console import Console
from rich.table import Table

from adapters.persistence import DatabaseConfig, event_store_env
from application.errors import ConcurrencyExhausted
from application.ledger.app import LedgerApplication
from benchmarks.environment import fresh_store, machine_description
from benchmarks.workload import customer_ibans, open_and_fund, transfers

FUNDING = Decimal("1000000.00")
"""What the funding payment brings each account in from outside (through clearing)."""


@dataclass(frozen=True)
class WriterFigures:
    payments: int
    seconds: float
    batches: int
    conflicts: int
    reads: int
    exhausted: int


def _writer(
    config: DatabaseConfig,
    prefix: str,
    args: argparse.Namespace,
    seed: int,
    start: Any,
    out: Any,
    stop: Any = None,
) -> None:
    """One writer process: warm its working set with one batch, wait for the others, book.
    With ``stop`` it is a REST-like writer instead: single payments, ``--single-rate`` a
    second, until ``stop`` is set."""
    # The set-up made the tables; writers starting together must not race on the DDL.
    app = LedgerApplication(env={**event_store_env(config, "ledger"), "CREATE_TABLE": "n"})
    counts = {"conflicts": 0, "reads": 0, "exhausted": 0}
    save, get = app.save, app.repository.get

    def counting_save(*aggregates: Any, **kwargs: Any) -> Any:
        try:
            return save(*aggregates, **kwargs)
        except IntegrityError:
            counts["conflicts"] += 1
            raise

    def counting_get(*a: Any, **kw: Any) -> Any:
        counts["reads"] += 1
        return get(*a, **kw)

    app.save = counting_save  # type: ignore[method-assign]
    app.repository.get = counting_get  # type: ignore[method-assign]
    ibans = customer_ibans(args.accounts)
    app.submit_payments(list(transfers(ibans, args.batch_size, f"{prefix}-WARM", seed=seed)))
    items = list(transfers(ibans, args.batches * args.batch_size, prefix, seed=seed + 1))
    counts.update(conflicts=0, reads=0, exhausted=0)
    start.wait(timeout=600)
    began = time.perf_counter()
    if stop is not None:
        booked = 0
        while not stop.wait(1 / args.single_rate):
            app.submit_payment(items[booked])
            booked += 1
        app.close()
        out.put(WriterFigures(booked, time.perf_counter() - began, 0, **counts))
        return
    for first in range(0, len(items), args.batch_size):
        batch = items[first : first + args.batch_size]
        while True:
            try:
                app.submit_payments(batch)
                break
            except ConcurrencyExhausted:  # as the ingestion consumer would: redeliver it
                counts["exhausted"] += 1
    seconds = time.perf_counter() - began
    app.close()
    out.put(WriterFigures(len(items), seconds, args.batches, **counts))


def run_writers(
    config: DatabaseConfig, writers: int, tag: str, args: argparse.Namespace, *, single: bool
) -> dict:
    """``writers`` batch writers at once, and with ``single`` one REST-like writer beside."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(writers + single)
    out = context.Queue()
    stop = context.Event()
    processes = [
        context.Process(
            target=_writer, args=(config, f"{tag}-W{n}", args, 100 * n + len(tag), start, out)
        )
        for n in range(writers)
    ]
    if single:
        processes.append(
            context.Process(target=_writer, args=(config, f"{tag}-S", args, 999, start, out, stop))
        )
    for process in processes:
        process.start()
    figures: list[WriterFigures] = []
    while len(figures) < len(processes):
        if len([f for f in figures if f.batches]) == writers:
            stop.set()
        try:
            figures.append(out.get(timeout=1))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in processes):
                for process in processes:
                    process.kill()  # a writer died (its traceback is on stderr)
                break
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a writer process failed ({process.exitcode})")
    singles = [f for f in figures if not f.batches]
    figures = [f for f in figures if f.batches]
    payments = sum(f.payments for f in figures)
    batches = sum(f.batches for f in figures)
    return {
        "writers": f"{writers}" + (f" + 1 single ({args.single_rate:g}/s)" if single else ""),
        "singles": sum(f.payments for f in singles),
        "rate": payments / max(f.seconds for f in figures),
        "conflicts_per_batch": sum(f.conflicts for f in figures) / batches,
        "reads_per_batch": sum(f.reads for f in figures) / batches,
        "exhausted": sum(f.exhausted for f in figures),
        "payments": payments,
    }


def check_books(config: DatabaseConfig, args: argparse.Namespace, expected: int) -> str:
    """Every transfer booked once (one Debited per transaction on its debtor) and money
    conserved: the customer balances sum to what the funding brought in through clearing
    (a payment never writes clearing's aggregate: its legs are only in the transactions)."""
    app = LedgerApplication(env=event_store_env(config, "ledger"))
    try:
        total = Decimal(0)
        debits: dict[Any, int] = {}
        for iban in customer_ibans(args.accounts):
            account = app.get_account(iban.value)
            total += account.balance
            for event in app.events.get(account.id):
                if type(event).__name__ == "Debited":
                    debits[event.transaction_id] = debits.get(event.transaction_id, 0) + 1
        funded = FUNDING * args.accounts
        if total != funded:
            raise RuntimeError(f"conservation error: balances sum to {total}, funded {funded}")
        if any(n != 1 for n in debits.values()):
            raise RuntimeError("a transaction was debited twice")
        if len(debits) < expected:
            raise RuntimeError(f"{len(debits)} debits for {expected} payments")
        return f"{len(debits):,} transactions debited once each, balances sum to the funding"
    finally:
        app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.two_writers", description=__doc__)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=40, help="batches per writer")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument(
        "--single-rate", type=float, default=20, help="payments/s of the REST-like writer"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.batch_size, args.accounts = 2, 20, 50
    console = Console(width=110)
    rows = []
    with fresh_store("postgres") as config:
        setup = LedgerApplication(env=event_store_env(config, "ledger"))
        open_and_fund(setup, customer_ibans(args.accounts), str(FUNDING))
        setup.close()
        booked = args.accounts  # the funding payments
        for writers, single in ((args.writers, False), (1, True), (1, False)):
            tag = f"RUN{writers}{'S' if single else ''}"
            figures = run_writers(config, writers, tag, args, single=single)
            booked += figures["payments"] + figures["singles"]
            booked += (writers + single) * args.batch_size
            rows.append(figures)
            console.log(f"{figures['writers']} writer(s): {figures['rate']:,.0f} payments/s")
        verdict = check_books(config, args, booked - args.accounts)
    table = Table(
        title="Writers on one PostgreSQL store: internal transfers (payments/s and the "
        "per-batch figures are the batch writers')"
    )
    columns = ("writers", "payments/s", "conflicts/batch", "reads/batch", "gave up", "payments")
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["writers"],
            f"{row['rate']:,.0f}",
            f"{row['conflicts_per_batch']:.2f}",
            f"{row['reads_per_batch']:.1f}",
            str(row["exhausted"]),
            f"{row['payments']:,}",
        )
    console.print(table)
    console.print(verdict)
    machine = Table(title="machine")
    machine.add_column("what")
    machine.add_column("value")
    for name, value in machine_description():
        machine.add_row(name, value)
    console.print(machine)
    command = "python -m benchmarks.two_writers " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    console.print(f"command: {command.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
