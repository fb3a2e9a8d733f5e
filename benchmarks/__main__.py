"""``python -m benchmarks [--backend sqlite|postgres|both] [--quick]``: print the figures.

Measures, per backend:

* booking through the application, one payment per commit and batched;
* projection catch-up from zero, in events per second;
* ``account(asOf)`` latency p50/p99 on an account with ``--asof-postings`` postings;

and, where ``pgbench`` exists, its tpcb-like TPS on the same PostgreSQL in the
same run, with our booking rate as a ratio of it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from rich.console import Console
from rich.table import Table

from benchmarks.environment import machine_description
from benchmarks.ledger import BackendFigures, measure_backend
from benchmarks.pgbench import PgbenchResult, run_pgbench


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--single", type=int, default=2_000, help="payments, one per commit")
    parser.add_argument("--batched", type=int, default=50_000, help="payments, batched")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--asof-postings", type=int, default=100_000)
    parser.add_argument("--asof-queries", type=int, default=2_000)
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: checks the benchmark runs, not speed"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.single, args.batched, args.accounts = 50, 500, 20
        args.asof_postings, args.asof_queries, args.pgbench_seconds = 500, 50, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = Console()
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    figures: list[BackendFigures] = []
    for backend in backends:
        console.log(f"measuring {backend} ...")
        figures.append(measure_backend(backend, args, console))
    pgbench: list[PgbenchResult] = []
    if "postgres" in backends:
        for clients in (1, 4):
            console.log(f"pgbench tpcb-like, {clients} client(s), {args.pgbench_seconds} s ...")
            result = run_pgbench(clients, args.pgbench_seconds)
            if result is not None:
                pgbench.append(result)
    console.print(render_machine(command, time.perf_counter() - started))
    console.print(render_figures(figures, pgbench))
    return 0


def render_machine(command: str, elapsed: float) -> Table:
    table = Table(title="Machine", show_header=False)
    for key, value in machine_description():
        table.add_row(key, value)
    table.add_row("command", command)
    table.add_row("wall time", f"{elapsed:.0f} s")
    return table


def render_figures(figures: list[BackendFigures], pgbench: list[PgbenchResult]) -> Table:
    table = Table(title="backoffice-ledger benchmarks")
    table.add_column("measure")
    table.add_column("backend")
    table.add_column("figure", justify="right")
    table.add_column("unit")
    table.add_column("target / note")
    reference = pgbench[0].tps if pgbench else None
    for fig in figures:
        table.add_row(
            "booking, one payment per commit",
            fig.backend,
            f"{fig.single_rate:,.0f}",
            "payments/s",
            f"{fig.single_count:,} payments",
        )
        table.add_row(
            "booking, batched",
            fig.backend,
            f"{fig.batched_rate:,.0f}",
            "payments/s",
            f"{fig.batched_count:,} payments, {fig.batch_size} per commit",
        )
        if fig.backend == "postgres" and reference:
            for result in pgbench:
                ratio = fig.batched_rate / result.tps
                table.add_row(
                    f"batched booking / pgbench ({result.clients} client)",
                    fig.backend,
                    f"{ratio:.2f}",
                    "x",
                    "target >= 1.0x",
                )
        table.add_row(
            "projection catch-up",
            fig.backend,
            f"{fig.catch_up_rate:,.0f}",
            "events/s",
            f"{fig.catch_up_events:,} events from zero",
        )
        table.add_row(
            "account(asOf) p50",
            fig.backend,
            f"{fig.asof_p50_ms:.2f}",
            "ms",
            f"account with {fig.asof_postings:,} postings",
        )
        table.add_row(
            "account(asOf) p99", fig.backend, f"{fig.asof_p99_ms:.2f}", "ms", "target < 20 ms"
        )
    for result in pgbench:
        table.add_row(
            f"pgbench tpcb-like ({result.clients} client)",
            "postgres",
            f"{result.tps:,.0f}",
            "TPS",
            f"latency avg {result.latency_ms:.2f} ms",
        )
    return table


if __name__ == "__main__":
    raise SystemExit(main())
