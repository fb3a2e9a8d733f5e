"""``python -m benchmarks.scale_out [--quick] [--messages N] [--accounts N] [--processes 1,2]
[--mixes internal,mixed] [--pgbench-seconds S] [--set LEDGER_X=Y ...]``

For each mix and each number of ``ledger serve --role ingestion`` processes: a fresh schema,
``--accounts`` funded accounts, ``--messages`` JSON payments pre-loaded on a queue of the
run's own, the processes started, the drain rate measured, then exactly-once and conservation
checked (see :mod:`benchmarks.scale_out`). pgbench tpcb-like with 1 and 4 clients runs first,
on the same PostgreSQL. Prints the machine, the command, one row per run and the targets of
issue 14 (PASS/FAIL, not asserted). Exit code 1 when any check failed.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from rich.console import Console

from benchmarks.__main__ import render_machine
from benchmarks.arguments import counts, ledger_setting
from benchmarks.environment import load_average
from benchmarks.pgbench import PgbenchResult, run_pgbench
from benchmarks.scale_out.drain import RunFigures, measure
from benchmarks.scale_out.report import render_checks, render_runs, render_targets
from benchmarks.scale_out.workload import MIXES


def _mixes(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [value for value in values if value not in MIXES]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"mixes are {', '.join(MIXES)}; got {text!r}")
    return values


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale_out",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=20_000, help="payments per run")
    parser.add_argument("--accounts", type=int, default=1_000, help="funded customer accounts")
    parser.add_argument("--processes", type=counts, default=[1, 2], help="e.g. 1,2 (default)")
    parser.add_argument("--mixes", type=_mixes, default=list(MIXES), help="internal,mixed")
    parser.add_argument("--pgbench-seconds", type=int, default=30, help="0: no pgbench")
    parser.add_argument("--stomp", default="127.0.0.1:61613", help="host:port of RabbitMQ STOMP")
    parser.add_argument(
        "--set",
        type=ledger_setting,
        action="append",
        default=[],
        metavar="LEDGER_X=Y",
        help="a setting for the role processes (e.g. LEDGER_INGEST_BATCH_SIZE=500)",
    )
    parser.add_argument(
        "--stall-seconds", type=float, default=120, help="give up after this long without progress"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: checks it runs and the checks pass"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.accounts, args.pgbench_seconds = 500, 50, 2
    return args


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    console = Console()
    command = "python -m benchmarks.scale_out " + shlex.join(given)
    started = time.perf_counter()
    load_before = load_average()
    pgbench: list[PgbenchResult] = []
    if args.pgbench_seconds > 0:
        for clients in (1, 4):
            console.log(f"pgbench tpcb-like, {clients} client(s), {args.pgbench_seconds} s ...")
            result = run_pgbench(clients, args.pgbench_seconds)
            if result is not None:
                pgbench.append(result)
    runs: list[RunFigures] = []
    for mix in args.mixes:
        for processes in args.processes:
            runs.append(measure(mix, processes, args, console))
    machine = render_machine(command, time.perf_counter() - started)
    machine.add_row("load average (1, 5, 15 min)", f"{load_before} before, {load_average()} after")
    if args.set:
        machine.add_row("role settings", " ".join(f"{k}={v}" for k, v in args.set))
    console.print(machine)
    console.print(render_runs(runs))
    console.print(render_checks(runs))
    console.print(render_targets(runs, pgbench))
    failed = [run for run in runs if not run.passed]
    if failed:
        names = ", ".join(f"{run.mix} x{run.processes}" for run in failed)
        console.print(f"[red]checks failed: {names}[/red]")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
