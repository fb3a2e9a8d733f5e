"""``ledger replay --as-of T --out FILE [--force]``: the read models as recorded at T.

For compliance: every read model exactly as it was recorded at T, written into a separate
SQLite file that any sqlite3 client can query offline.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.cli.common import EXIT_OK, EXIT_USAGE, console
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from projections.replay import replay_to_sqlite


def add_parser(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="write every read model as recorded at T into a SQLite file",
        description="For compliance: the read models exactly as they were recorded at T, in "
        "a separate SQLite file that any sqlite3 client can query offline.",
    )
    replay.add_argument(
        "--as-of", required=True, type=parse_instant, help="ISO 8601 with time zone"
    )
    replay.add_argument("--out", required=True, type=Path, help="the SQLite file to write")
    replay.add_argument("--force", action="store_true", help="replace FILE if it exists")


def parse_instant(text: str) -> datetime:
    """An aware datetime from ISO 8601 (``Z`` allowed); naive input is refused."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone; add one, e.g. 2026-11-23T10:15:00Z"
        )
    return moment.astimezone(UTC)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    out: Path = args.out
    if out.exists() and not args.force:
        print(f"ledger: {out} exists; pass --force to replace it", file=sys.stderr)
        return EXIT_USAGE
    container = bootstrap(settings)
    screen = console()
    try:
        with Progress(
            TextColumn("replay"), BarColumn(), MofNCompleteColumn(), console=screen
        ) as progress:
            task = progress.add_task("replay", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            events = replay_to_sqlite(
                container.sources, args.as_of, out, progress=report, overwrite=args.force
            )
        screen.print(
            f"replay: {events} events recorded at or before {args.as_of.isoformat()} -> {out}"
        )
        return EXIT_OK
    finally:
        container.close()
