"""``ledger reconcile ...``: import core-banking statements and list their breaks.

::

    ledger reconcile import FILE...      exit 1 when any statement has a break (or is refused)
    ledger reconcile breaks [--open]

``import`` reads each camt.053 file, matches it against the ledger (bringing the ledger's read
models up to date first) and prints one line per statement and per break; a statement
imported before prints its first result again. A malformed file is reported with its reason
and nothing is recorded for it. The events name the user running the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from api.cli.common import EXIT_FAILED, EXIT_OK, cli_causation
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.reconciliation_role import import_statements
from api.runtime.settings import Settings
from domain.causation import caused_by
from domain.reconciliation.statement import StatementError

EXIT_BREAKS = EXIT_FAILED
PAGE = 200


def add_parser(commands: Any) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="reconciliation: import camt.053 statements, list breaks",
        description="Match core-banking end-of-day statements (camt.053) against the ledger.",
    )
    sub = reconcile.add_subparsers(dest="reconcile_command", required=True)
    importer = sub.add_parser(
        "import",
        help="import camt.053 files; exit 1 if any break",
        description="Import each file (every statement in it) and print the result. Exit 1 "
        "when a statement has a break or a file is refused.",
    )
    importer.add_argument("files", nargs="+", type=Path, metavar="FILE")
    breaks = sub.add_parser("breaks", help="list the breaks, newest first")
    breaks.add_argument("--open", action="store_true", help="only the open ones")


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        if args.reconcile_command == "import":
            return _import(container, args.files)
        return _breaks(container, only_open=args.open)
    finally:
        container.close()


def _import(container: Container, files: list[Path]) -> int:
    failed = False
    with caused_by(cli_causation()):
        for path in files:
            try:
                outcomes = import_statements(container, path.read_bytes())
            except (OSError, StatementError) as error:
                reason = error.reason if isinstance(error, StatementError) else str(error)
                print(f"{path}: refused: {reason}", file=sys.stderr)
                failed = True
                continue
            for outcome in outcomes:
                rec = outcome.reconciliation
                again = "" if outcome.created else " (imported before)"
                print(
                    f"{path}: statement {rec.statement_id} of {rec.account}: "
                    f"{len(rec.matches)} matched, {len(rec.breaks)} break(s), "
                    f"{len(rec.open_breaks)} open{again} [reconciliation {rec.id}]"
                )
                for item in rec.breaks:
                    print(
                        f"  {item.id} {item.finding.kind.value} {item.status.value}: "
                        f"{item.finding.detail}"
                    )
                failed = failed or bool(rec.breaks)
    return EXIT_BREAKS if failed else EXIT_OK


def _breaks(container: Any, *, only_open: bool) -> int:
    container.projector.catch_up()
    queries = container.reconciliation_queries
    after: str | None = None
    count = 0
    while True:
        page = queries.breaks("OPEN" if only_open else None, None, PAGE, after)
        for _cursor, view in page.edges:
            count += 1
            resolution = f" by {view.resolved_by}: {view.reason}" if view.resolved_by else ""
            print(
                f"{view.id} {view.kind} {view.status} {view.account} "
                f"{view.booking_date or '-'}: {view.detail}{resolution}"
            )
        if not page.has_next_page:
            break
        after = page.end_cursor
    print(f"{count} break(s)" + (" open" if only_open else ""))
    return EXIT_OK
