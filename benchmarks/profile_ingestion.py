"""``python -m benchmarks.profile_ingestion [--messages N] [--accounts N] [--mix internal]
[--top N] [--interval-ms MS] [--set LEDGER_X=Y ...]``: where one ingestion process's time goes.

The scale-out benchmark's single-process run (:mod:`benchmarks.scale_out`: a fresh schema,
funded accounts, a pre-loaded queue of JSON payments, ``ledger serve --role ingestion``), with
the role process started under :mod:`benchmarks.profiling`'s sampler. The sampler is switched
on when the process is ready (the drain starts at once: the queue is full) and off when the
last payment is decided, so start-up costs are not in the figures. Printed:

* the drain rate and the CPU milliseconds per payment of the role process (``/proc/PID/stat``)
  and of its PostgreSQL backends (the connections named ``application_name=bench-profile``),
  each thread's share of the role process's CPU;
* for the thread that books (``stomp-consumer``): the functions with the largest cumulative
  and self share of its samples, in microseconds of wall time per payment;
* the same samples grouped by library (innermost frame's package), and by the stages of the
  booking path a developer would change (:data:`STAGES`).

A sample is where a thread *is*, on CPU or waiting (a socket read of psycopg counts as
waiting on PostgreSQL): wall time, which is what bounds a single-threaded writer.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from adapters.messaging.config import StompConfig
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from benchmarks.__main__ import render_machine
from benchmarks.arguments import ledger_setting
from benchmarks.environment import fresh_store, load_average
from benchmarks.profiling import load, process_cpu_s
from benchmarks.scale_out.checks import BookedCounter
from benchmarks.scale_out.processes import (
    ROOT,
    Destinations,
    RoleProcess,
    delete_queues,
    free_port,
    ledger_env,
    migrate,
    preload,
)
from benchmarks.scale_out.workload import MIXES, build
from benchmarks.workload import customer_ibans, open_and_fund

APPLICATION_NAME = "bench-profile"
BOOKING_THREAD = "stomp-consumer"

PROFILED_THREADS = (BOOKING_THREAD, "outbox")
"""The threads whose functions are listed: the one that books and the one that publishes."""

STAGES: list[tuple[str, tuple[str, ...]]] = [
    # (stage of the booking path, markers of the functions whose time under them is the stage)
    ("take the batch from the STOMP session", ("(_take_batch)",)),
    ("decode + validate the JSON messages", ("messaging/decoding.py",)),
    ("read accounts' events back (select_events)", ("(select_events)",)),
    ("fraud screening", ("(_screen)",)),
    ("domain commands (post_payment, event objects)", ("(post_payment)",)),
    ("save: events -> stored events (mapper, JSON)", ("(to_stored_event)",)),
    ("save: psycopg dumps the composite array", ("psycopg/types/array.py:168(dump)",)),
    ("save: insert_events (dump, LOCK, INSERT, COMMIT)", ("(insert_events)",)),
    ("waiting on a PostgreSQL socket (or the GIL)", ("psycopg/connection.py:479(wait)",)),
    ("acknowledge (STOMP ACK frames)", ("(_acknowledge)",)),
    ("batch span, metrics, logs", ("opentelemetry/", "prometheus_client/", "structlog/")),
]
"""Stages a developer would change, each marked by the functions under which its time is
spent (a marker matches the function keys of :func:`benchmarks.profiling.frame_key`)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_ingestion", description=__doc__
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--mix", choices=MIXES, default="internal")
    parser.add_argument("--top", type=int, default=25, help="functions per table")
    parser.add_argument("--interval-ms", type=float, default=1.0, help="between two samples")
    parser.add_argument("--stomp", default="127.0.0.1:61613")
    parser.add_argument("--set", type=ledger_setting, action="append", default=[])
    parser.add_argument("--quick", action="store_true", help="500 payments, 50 accounts")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.accounts = 500, 50
    return args


def backend_pids(conn: psycopg.Connection[Any]) -> list[int]:
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,)
    ).fetchall()
    return [int(row[0]) for row in rows]


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    console = Console()
    started = time.perf_counter()
    load_before = load_average()
    tag = f"{int(time.time())}.{uuid.uuid4().hex[:6]}"
    destinations = Destinations.unique(f"profile.{tag}")
    host, _, port = args.stomp.partition(":")
    stomp = (host, int(port or 61613))
    out = Path(tempfile.mkdtemp(prefix="ledger-profile-")) / "samples.json"
    try:
        with fresh_store("postgres") as database:
            env = ledger_env(database, stomp, destinations, dict(args.set))
            migrate(env)
            with closing(bootstrap(Settings.from_env(env), migrate=False)) as container:
                customers = customer_ibans(args.accounts)
                open_and_fund(container.ledger, customers)
            workload = build(args.mix, customers, args.messages, f"PROFILE.{tag}")
            config = StompConfig(
                host=stomp[0],
                port=stomp[1],
                queue=destinations.queue,
                dead_letter_queue=destinations.dead_letter_queue,
                events_topic=destinations.events_topic,
            )
            preload(config, workload.bodies)
            console.log(f"{len(workload.bodies):,} {args.mix} payments pre-loaded; profiling ...")
            separator = "&" if "?" in str(database.url) else "?"
            named = f"{database.url}{separator}application_name={APPLICATION_NAME}"
            role_env = {**env, "LEDGER_DATABASE_URL": named}
            window = _profile(
                role_env,
                database.data_dir,
                str(database.url),
                str(database.schema),
                len(workload.bodies),
                out,
                args,
            )
    finally:
        delete_queues(destinations.queue, destinations.dead_letter_queue)
    report = load(out)
    console.log(f"samples written to {out}")
    machine = render_machine(
        "python -m benchmarks.profile_ingestion " + shlex.join(given), time.perf_counter() - started
    )
    machine.add_row("load average (1, 5, 15 min)", f"{load_before} before, {load_average()} after")
    console.print(machine)
    console.print(render_costs(window, report))
    threads = {thread["name"]: thread for thread in report["threads"]}
    if BOOKING_THREAD not in threads:
        console.print(f"[red]no samples of the {BOOKING_THREAD} thread[/red]")
        return 1
    console.print(render_stages(threads[BOOKING_THREAD], window["payments"]))
    for name in PROFILED_THREADS:
        if name in threads:
            thread = threads[name]
            console.print(render_libraries(thread, window["payments"], args.top))
            console.print(render_functions(thread, "cumulative", window["payments"], args.top))
            console.print(render_functions(thread, "own", window["payments"], args.top))
            console.print(render_functions(thread, "origin", window["payments"], args.top))
    return 0


def _profile(
    env: dict[str, str],
    data_dir: Path,
    url: str,
    schema: str,
    total: int,
    out: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Start the sampled role process, sample between ready and drained, stop it; the
    window's figures."""
    port = free_port()
    log_path = data_dir / "ingestion-profiled.log"
    log = log_path.open("wb")
    command = [
        sys.executable,
        "-m",
        "benchmarks.profiling",
        "--out",
        str(out),
        "--interval-ms",
        str(args.interval_ms),
        "--",
        "serve",
        "--role",
        "ingestion",
    ]
    popen = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, "LEDGER_PORT": str(port), "LEDGER_HOST": "127.0.0.1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    role = RoleProcess(0, port, log_path, popen, time.perf_counter(), _log=log)
    with (
        closing(BookedCounter(url, schema)) as counter,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        try:
            while not role.ready():
                if not role.alive():
                    raise RuntimeError(f"the role process exited:\n{role.log_text()[-3000:]}")
                time.sleep(0.02)
            popen.send_signal(signal.SIGUSR1)
            begin = time.perf_counter()
            booked_at_begin = counter.poll()
            backends = backend_pids(conn)
            role_cpu = process_cpu_s(popen.pid)
            pg_cpu = {pid: process_cpu_s(pid) for pid in backends}
            while counter.poll() < total:
                if not role.alive():
                    raise RuntimeError(f"the role process exited:\n{role.log_text()[-3000:]}")
                time.sleep(0.02)
            popen.send_signal(signal.SIGUSR2)
            elapsed = time.perf_counter() - begin
            role_cpu = process_cpu_s(popen.pid) - role_cpu
            later = backend_pids(conn)
            pg = sum(process_cpu_s(pid) - pg_cpu.get(pid, 0.0) for pid in later)
            deadline = time.monotonic() + 30
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            role.stop()
    payments = total - booked_at_begin
    return {
        "elapsed_s": elapsed,
        "payments": payments,
        "role_cpu_s": role_cpu,
        "pg_cpu_s": pg,
        "backends": len(later),
    }


def render_costs(window: dict[str, Any], report: dict[str, Any]) -> Table:
    payments = window["payments"]
    table = Table(title="One ingestion process draining a full queue (the sampled window)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("payments in the window", f"{payments:,}")
    table.add_row("drain rate (sampler on)", f"{payments / window['elapsed_s']:,.0f}/s")
    table.add_row("role process CPU per payment", f"{window['role_cpu_s'] / payments * 1e3:.3f} ms")
    table.add_row(
        f"PostgreSQL CPU per payment ({window['backends']} backends of the process)",
        f"{window['pg_cpu_s'] / payments * 1e3:.3f} ms",
    )
    for thread in sorted(report["threads"], key=lambda t: -t["cpu_s"]):
        if thread["cpu_s"] > 0:
            table.add_row(
                f"  thread {thread['name']}: CPU per payment",
                f"{thread['cpu_s'] / payments * 1e3:.3f} ms",
            )
    return table


def _row(seconds: float, total: float, payments: int) -> tuple[str, str]:
    """(share of the thread's sampled wall time, microseconds per payment)."""
    return f"{100 * seconds / max(total, 1e-9):.1f}", f"{seconds / payments * 1e6:.0f}"


def render_stages(thread: dict[str, Any], payments: int) -> Table:
    """Wall time under each stage's marker functions (a moment under several stages counts in
    each: the rows need not sum to 100 %)."""
    table = Table(title=f"{thread['name']}: stages of the booking path (wall time under them)")
    table.add_column("stage")
    table.add_column("% of the thread", justify="right")
    table.add_column("µs / payment", justify="right")
    cumulative: dict[str, float] = thread["cumulative"]
    for stage, markers in STAGES:
        seconds = max(
            (s for key, s in cumulative.items() if any(m in key for m in markers)), default=0.0
        )
        table.add_row(stage, *_row(seconds, thread["seconds"], payments))
    return table


def library_of(key: str) -> str:
    """The package a function key belongs to (project packages by their subpackage)."""
    path = key.split(":", 1)[0]
    if "/" not in path:
        return path
    head, rest = path.split("/", 1)
    if head in {"adapters", "application", "api", "domain", "projections"}:
        return f"{head}/{rest.split('/', 1)[0]}"
    return "python stdlib" if head == "3.11" else head


def render_libraries(thread: dict[str, Any], payments: int, top: int) -> Table:
    table = Table(title=f"{thread['name']}: wall time by library (innermost frame)")
    table.add_column("library / package")
    table.add_column("% of the thread", justify="right")
    table.add_column("µs / payment", justify="right")
    libraries: dict[str, float] = defaultdict(float)
    for key, seconds in thread["own"].items():
        libraries[library_of(key)] += seconds
    for library, seconds in sorted(libraries.items(), key=lambda item: -item[1])[:top]:
        table.add_row(library, *_row(seconds, thread["seconds"], payments))
    return table


def render_functions(thread: dict[str, Any], kind: str, payments: int, top: int) -> Table:
    title = {
        "cumulative": "functions by wall time under them (cumulative)",
        "own": "functions by wall time in them (self)",
        "origin": "lines of project code by wall time at or under them (innermost)",
    }[kind]
    table = Table(title=f"{thread['name']}: top {title}")
    table.add_column("function")
    table.add_column("%", justify="right")
    table.add_column("µs / payment", justify="right")
    times: dict[str, float] = thread[kind]
    for key, seconds in sorted(times.items(), key=lambda item: -item[1])[:top]:
        table.add_row(key, *_row(seconds, thread["seconds"], payments))
    return table


if __name__ == "__main__":
    raise SystemExit(main())
