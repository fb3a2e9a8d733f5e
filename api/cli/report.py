"""``ledger report NAME --as-of T [--param k=v ...] --format csv|xlsx|camt053 --out FILE [--force]``
and ``ledger reports`` (the catalogue).

A report as recorded at T (docs/reports.md), streamed from the read models into the file with
a progress line (rows, rows per second); prints the number of rows and the file's sha256,
which is the same whenever the same report is produced for the same T and parameters. The run
is recorded as an event of the reports context (who, which report, parameters, as-of, hash).
A bad parameter stops the command with exit code 2 and names the parameter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from adapters.reports.files import FORMATS, write_report
from api.cli.common import EXIT_OK, EXIT_USAGE, cli_causation, console
from api.cli.replay import parse_instant
from api.runtime.bootstrap import bootstrap
from api.runtime.reports_context import reports_of
from api.runtime.settings import Settings
from application.errors import InvalidCommand, NotFound
from application.reports.catalogue import REPORTS, request
from application.unit_of_work import utc_now
from domain.causation import caused_by


def add_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="write a report as recorded at T to a CSV or XLSX file",
        description="A report of the catalogue (ledger reports) as recorded at T, written to "
        "FILE; prints its rows and sha256 (the same for the same report, T and parameters).",
    )
    report.add_argument("name", metavar="NAME", help="the report (see: ledger reports)")
    report.add_argument(
        "--as-of", required=True, type=parse_instant, help="ISO 8601 with time zone"
    )
    report.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter of the report (repeatable), e.g. --param from=2026-03-01",
    )
    report.add_argument("--format", choices=FORMATS, default="csv")
    report.add_argument("--out", required=True, type=Path, help="the file to write")
    report.add_argument("--force", action="store_true", help="replace FILE if it exists")
    commands.add_parser("reports", help="list the reports, their parameters and columns")


def parse_params(items: list[str]) -> dict[str, str]:
    """``k=v`` items as a mapping; ValueError naming the item that is not ``k=v`` or repeats."""
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--param: expected NAME=VALUE, got {item!r}")
        if name in params:
            raise ValueError(f"{name}: given twice")
        params[name] = value
    return params


def cmd_reports(args: argparse.Namespace, settings: Settings) -> int:
    screen = console()
    for spec in REPORTS.values():
        screen.print(f"[bold]{spec.name}[/bold] — {spec.title} (permission {spec.permission})")
        screen.print(f"  {spec.description}", highlight=False)
        for p in spec.parameters:
            need = "required" if p.required else f"default {p.default}" if p.default else "optional"
            screen.print(f"  --param {p.name}=<{p.kind.value}>  {p.help} ({need})", highlight=False)
        screen.print(f"  columns: {', '.join(c.name for c in spec.columns)}", highlight=False)
    return EXIT_OK


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    out: Path = args.out
    if out.exists() and not args.force:
        print(f"ledger: {out} exists; pass --force to replace it", file=sys.stderr)
        return EXIT_USAGE
    container = bootstrap(settings)
    try:
        try:
            wanted = request(args.name, parse_params(args.param), args.as_of, utc_now())
        except (InvalidCommand, NotFound, ValueError) as error:
            print(f"ledger: report: {error}", file=sys.stderr)
            return EXIT_USAGE
        if args.format not in wanted.spec.formats:
            formats = ", ".join(wanted.spec.formats)
            print(
                f"ledger: report: format: {wanted.spec.name} is written as {formats}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        container.sync_ledger_read_models()
        screen = console(sys.stderr)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=screen, transient=True) as progress:
            task = progress.add_task(f"{wanted.spec.name}: 0 rows", total=None)

            def report(done: int) -> None:
                progress.update(task, description=f"{wanted.spec.name}: {done:,} rows")

            rows = reports_of(container).queries.stream(wanted)
            count, digest = write_report(wanted, rows, args.format, out, report)
        with caused_by(cli_causation()):
            run = reports_of(container).app.record(wanted, args.format, count, digest)
        console().print(
            f"report {wanted.spec.name} as of {wanted.as_of.isoformat()} "
            f"[{wanted.canonical_params or 'no parameters'}]: {count} rows -> {out}\n"
            f"sha256 {digest} (recorded as report run {run})",
            highlight=False,
            markup=False,
        )
        return EXIT_OK
    finally:
        container.close()
