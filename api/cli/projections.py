"""``ledger projections status|rebuild [NAME]|quarantine ...``: the read-model projections.

``status`` prints position, head and lag per projection; ``rebuild`` replays one projection
(or all) from the first event. The ``quarantine`` sub-commands are :mod:`api.cli.quarantine`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli import quarantine
from api.cli.common import EXIT_OK, EXIT_USAGE, console, read_only_database
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from projections.runner.registry import PROJECTIONS


def add_parser(commands: Any) -> None:
    projections = commands.add_parser("projections", help="read-model projections")
    projection_commands = projections.add_subparsers(dest="projections_command", required=True)
    projection_commands.add_parser("status", help="position, head and lag per projection")
    rebuild = projection_commands.add_parser(
        "rebuild", help="rebuild one projection (or all) from the first event"
    )
    rebuild.add_argument(
        "name",
        nargs="?",
        help="accounts, transactions, audit, fraud, identity or notifications (default all)",
    )
    quarantine.add_parser(projection_commands)


def cmd_projections(args: argparse.Namespace, settings: Settings) -> int:
    # `status` only reads: on a standby (the runbook checks the secondary region) no DDL.
    read_only = args.projections_command == "status" and read_only_database(settings)
    container = bootstrap(settings, migrate=not read_only)
    try:
        if args.projections_command == "status":
            return _status(container)
        if args.projections_command == "quarantine":
            return quarantine.run(args, settings, container)
        return _rebuild(container, args.name)
    finally:
        container.close()


def _status(container: Container) -> int:
    table = Table(title="projections")
    for column in ("name", "context", "position", "head", "lag", "updated"):
        table.add_column(
            column, justify="right" if column in {"position", "head", "lag"} else "left"
        )
    for status in container.projector.status():
        updated = status.updated_at.isoformat(timespec="seconds") if status.updated_at else "-"
        table.add_row(
            status.name,
            getattr(status, "context", None) or "-",
            str(status.position),
            str(status.head),
            str(status.lag),
            updated,
        )
    console().print(table)
    return EXIT_OK


def _rebuild(container: Container, name: str | None) -> int:
    names = [name] if name else list(PROJECTIONS)
    unknown = [n for n in names if n not in PROJECTIONS]
    if unknown:
        print(
            f"ledger: unknown projection {unknown[0]!r}; known: {', '.join(PROJECTIONS)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    out = console()
    with Progress(
        TextColumn("rebuild {task.description:<13}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    ) as progress:
        for projection in names:
            task = progress.add_task(projection, total=None)

            def report(done: int, total: int, task: Any = task) -> None:
                progress.update(task, completed=done, total=total)

            count = container.projector.rebuild(projection, progress=report)
            progress.update(task, completed=count, total=count)
    out.print(f"rebuilt {', '.join(names)}")
    return EXIT_OK
