"""``python -m benchmarks.reports [--backend postgres|sqlite] [--sizes 100000,1000000] [--quick]``

The reports on a large book (docs/reports.md): the transaction journal for a month over N
postings, streamed to a CSV file (rows per second, peak memory), and the daily balances of
every account for that month. Each size gets a fresh store, filled by the bulk path of
:mod:`benchmarks.report_book` (straight into the read-model tables: the reports read nothing
else). Each report runs in a child process of its own, so its peak resident memory (RSS) is
its own: with streaming, the peak does not grow with the size of the book.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from adapters.persistence import DatabaseConfig, read_model_engine
from adapters.reports.files import write_report
from application.reports.catalogue import request
from benchmarks.environment import fresh_store, load_average, machine_description
from benchmarks.report_book import START, build_book
from projections.reports.queries import ReportQueries

DAYS = 30


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reports", description=__doc__)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--sizes", default="100000,1000000", help="postings in the book, one run per size"
    )
    parser.add_argument("--accounts", type=int, default=1000, help="customer accounts")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    parser.add_argument("--child", nargs=4, metavar=("REPORT", "URL", "SCHEMA", "DIR"))
    return parser.parse_args(argv)


def params(report: str) -> dict[str, str]:
    first = START.date()
    last = first + timedelta(days=DAYS - 1)
    if report == "trial_balance":
        return {}
    return {"from": first.isoformat(), "to": last.isoformat()}


def child(report: str, url: str, schema: str, directory: str) -> dict[str, Any]:
    """Run one report into a CSV file; its rows, seconds and this process's peak RSS."""
    config = DatabaseConfig(data_dir=Path(directory), url=url or None, schema=schema or None)
    engine = read_model_engine(config)
    as_of = START + timedelta(days=DAYS + 1)
    wanted = request(report, params(report), as_of, as_of)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = Path(directory) / f"{report}.csv"
    cpu = time.process_time()
    started = time.perf_counter()
    rows, digest = write_report(wanted, ReportQueries(engine).stream(wanted), "csv", out)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine.dispose()
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mib": peak / 1024,
        "baseline_mib": baseline / 1024,
        "bytes": out.stat().st_size,
        "sha256": digest,
    }


def run_child(report: str, config: DatabaseConfig) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.reports",
        "--child",
        report,
        config.url or "",
        config.schema or "",
        str(config.data_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{report} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    console = Console()
    sizes = [2_000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    accounts = 50 if args.quick else args.accounts
    results: list[tuple[int, str, dict[str, Any], float]] = []
    for size in sizes:
        with fresh_store(args.backend) as config:
            config.data_dir.mkdir(parents=True, exist_ok=True)
            engine = read_model_engine(config)
            started = time.perf_counter()
            written = build_book(
                config,
                engine,
                size,
                accounts,
                DAYS,
                lambda n, size=size: console.log(f"{size:,} postings: {n:,} rows written"),
            )
            engine.dispose()
            build = time.perf_counter() - started
            console.log(f"{size:,} postings: book of {written:,} rows built in {build:.0f} s")
            for report in ("journal", "daily_balances"):
                figures = run_child(report, config)
                console.log(f"{size:,} postings: {report} {figures}")
                results.append((size, report, figures, build))
    table = Table(title=f"Reports on a large book ({args.backend}, {accounts + 1} accounts)")
    for column in (
        "postings in book",
        "report",
        "rows",
        "seconds",
        "rows/s",
        "rows/CPU-s",
        "peak RSS MiB",
        "RSS before MiB",
        "file MiB",
    ):
        table.add_column(column, justify="right")
    for size, report, f, _ in results:
        table.add_row(
            f"{size:,}",
            f"{report} ({DAYS} days)",
            f"{f['rows']:,}",
            f"{f['seconds']:.2f}",
            f"{f['rows'] / f['seconds']:,.0f}",
            f"{f['rows'] / f['cpu_seconds']:,.0f}",
            f"{f['peak_mib']:.0f}",
            f"{f['baseline_mib']:.0f}",
            f"{f['bytes'] / 2**20:.1f}",
        )
    console.print(table)
    about = Table(title="Where and how")
    about.add_column("")
    about.add_column("")
    for name, value in machine_description():
        about.add_row(name, value)
    about.add_row("load average", load_average())
    about.add_row("book", "bulk COPY into the read-model tables (benchmarks/report_book.py)")
    given = sys.argv[1:] if argv is None else argv
    about.add_row("command", shlex.join(["python", "-m", "benchmarks.reports", *given]))
    console.print(about)
    return 0


if __name__ == "__main__":
    sys.exit(main())
