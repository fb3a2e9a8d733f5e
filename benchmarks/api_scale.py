"""``python -m benchmarks.api_scale [--quick] [--processes 1,2] [--clients N] [--seconds S]
[--warmup S] [--rounds R] [--accounts N] [--transactions N] [--set LEDGER_X=Y ...]``

Does the ``api`` role scale out? The rule of docs/operations.md §7: a role that runs in
replicas is measured with one and with two processes in the same run, and the chart
autoscales only what that shows scales.

One PostgreSQL schema is migrated (``ledger migrate``) and seeded in this process:
``--accounts`` funded accounts, ``--transactions`` transfers between them, the read models
caught up, and a person (``alice``, role ``viewer``) with a token of the local issuer. Then,
for each round and each process count, that many ``ledger serve --role api`` processes are
started (each waited for on ``/readyz``), the same read mix at the same total concurrency
(``--clients``) is spread evenly over them (:mod:`benchmarks.api_load`) for ``--warmup`` then
``--seconds``, and the processes are stopped (SIGTERM). Process counts alternate within a
round, so a change of the machine's load shows as a difference between rounds.

Prints the machine and the command, one row per measurement (requests/s, p50/p99 of each
kind, errors, and the CPU the load generator and the API processes used), and per process
count the median over the rounds with its ratio to one process. Exit code 1 when a request
failed or a process did not become ready.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from api.security import local_issuer
from benchmarks.__main__ import render_machine
from benchmarks.api_load import LoadFigures, drive
from benchmarks.arguments import counts, ledger_setting
from benchmarks.auth import percentile
from benchmarks.environment import command_env, fresh_store, load_average
from benchmarks.scale_out.processes import RoleProcess, migrate
from benchmarks.workload import customer_ibans, open_and_fund, transfers
from domain.causation import Causation, caused_by

READY_TIMEOUT_S = 180.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.api_scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--processes", type=counts, default=[1, 2], help="e.g. 1,2 (default)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent requests in all")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=3.0, help="load before the window")
    parser.add_argument("--rounds", type=int, default=2, help="each process count, alternated")
    parser.add_argument("--accounts", type=int, default=500, help="funded accounts")
    parser.add_argument("--transactions", type=int, default=5_000, help="transfers seeded")
    parser.add_argument(
        "--set",
        type=ledger_setting,
        action="append",
        default=[],
        metavar="LEDGER_X=Y",
        help="a setting for the api processes (e.g. LEDGER_DATABASE_POOL_SIZE=20)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.rounds = 2.0, 0.5, 1
        args.accounts, args.transactions, args.clients = 20, 100, 4
    return args


LIMITS_OFF = {
    # One principal makes every request: its per-process limits (rate, GraphQL executions
    # at once) would be measured instead of the process.
    "LEDGER_RATE_LIMIT_PER_SECOND": "0",
    "LEDGER_GRAPHQL_MAX_CONCURRENT": "1000",
}


def ledger_env(database: DatabaseConfig, extra: list[tuple[str, str]]) -> dict[str, str]:
    """The environment of a ``ledger`` command on ``database`` (no ``LEDGER_*`` of ours)."""
    return command_env(database, LIMITS_OFF, extra)


def seed(env: dict[str, str], accounts: int, transactions: int) -> tuple[str, list[str]]:
    """Accounts, transfers and a viewer; the read models caught up. (token, account IBANs)"""
    settings = Settings.from_env(env)
    with closing(bootstrap(settings, migrate=False)) as container:
        ibans = customer_ibans(accounts)
        open_and_fund(container.ledger, ibans)
        payments = list(transfers(ibans, transactions, "SEED"))
        for start in range(0, len(payments), 500):
            container.ledger.submit_payments(payments[start : start + 500])
        with caused_by(Causation("service:bench", "bench-api-scale", "CLI")):
            container.identity.provision_user("alice", frozenset({"viewer"}))
        container.projector.catch_up()
    token = local_issuer(settings.auth, settings.data_dir).issue("user:alice", ["viewer"], 3600)
    return token, [iban.value for iban in ibans]


def start_processes(count: int, env: dict[str, str], log_dir: Path) -> list[RoleProcess]:
    """``count`` api processes, each ready on ``/readyz`` (raises if one dies or times out)."""
    processes = [RoleProcess.start(i, env, log_dir, role="api") for i in range(count)]
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = list(processes)
    while waiting:
        for process in list(waiting):
            if not process.alive():
                logs = process.log_text()[-3000:]
                stop_all(processes)
                raise RuntimeError(f"api process {process.index} exited:\n{logs}")
            if process.ready():
                waiting.remove(process)
        if waiting and time.monotonic() > deadline:
            stop_all(processes)
            raise RuntimeError(f"api processes not ready within {READY_TIMEOUT_S:.0f} s")
    return processes


def stop_all(processes: list[RoleProcess]) -> None:
    for process in processes:
        process.stop()


def _ms(samples: list[float], q: float) -> str:
    return f"{percentile(samples, q):.1f}" if samples else "-"


def render_runs(runs: list[tuple[int, int, LoadFigures]], clients: int) -> Table:
    table = Table(title=f"api role: read mix, {clients} concurrent requests in all")
    for column in (
        "round",
        "processes",
        "requests",
        "requests/s",
        "REST p50 ms",
        "REST p99 ms",
        "GraphQL p50 ms",
        "GraphQL p99 ms",
        "errors",
        "client CPU (cores)",
        "api CPU (cores)",
    ):
        table.add_column(column, justify="right")
    for round_, processes, figures in runs:
        samples = figures.samples
        table.add_row(
            str(round_),
            str(processes),
            f"{samples.count:,}",
            f"{figures.rate:,.0f}",
            _ms(samples.rest, 50),
            _ms(samples.rest, 99),
            _ms(samples.graphql, 50),
            _ms(samples.graphql, 99),
            str(samples.errors),
            f"{figures.client_cpu:.2f}",
            f"{figures.server_cpu:.2f}",
        )
    return table


def render_ratios(runs: list[tuple[int, int, LoadFigures]]) -> Table:
    table = Table(title="median over the rounds")
    for column in ("processes", "requests/s", f"ratio to {min(p for _, p, _ in runs)} process"):
        table.add_column(column, justify="right")
    medians = {
        count: statistics.median(f.rate for _, p, f in runs if p == count)
        for count in sorted({p for _, p, _ in runs})
    }
    base = medians[min(medians)]
    for count, rate in medians.items():
        table.add_row(str(count), f"{rate:,.0f}", f"{rate / base:.2f}x" if base else "-")
    return table


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    console = Console()
    started, load_before = time.perf_counter(), load_average()
    runs: list[tuple[int, int, LoadFigures]] = []
    with fresh_store("postgres") as database, tempfile.TemporaryDirectory() as logs:
        env = ledger_env(database, args.set)
        migrate(env)
        token, accounts = seed(env, args.accounts, args.transactions)
        console.log(f"seeded {len(accounts)} accounts, {args.transactions:,} transfers")
        for round_ in range(1, args.rounds + 1):
            for count in args.processes:
                processes = start_processes(count, env, Path(logs))
                try:
                    figures = drive(
                        [f"http://127.0.0.1:{p.port}" for p in processes],
                        [p.process.pid for p in processes],
                        token,
                        accounts,
                        clients=args.clients,
                        warmup=args.warmup,
                        seconds=args.seconds,
                    )
                finally:
                    stop_all(processes)
                runs.append((round_, count, figures))
                console.log(f"round {round_}, {count} process(es): {figures.rate:,.0f} requests/s")
    command = "python -m benchmarks.api_scale " + shlex.join(given)
    machine = render_machine(command, time.perf_counter() - started)
    machine.add_row("load average (1, 5, 15 min)", f"{load_before} before, {load_average()} after")
    machine.add_row("load generator", "this process: one asyncio loop, httpx, same host")
    if args.set:
        machine.add_row("api settings", " ".join(f"{k}={v}" for k, v in args.set))
    console.print(machine)
    console.print(render_runs(runs, args.clients))
    console.print(render_ratios(runs))
    failed = [f.samples for _, _, f in runs if f.samples.errors or not f.samples.count]
    if failed:
        console.print(f"[red]requests failed: {failed[0].errors}; {failed[0].first_error}[/red]")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
