"""``ledger accounts import FILE.csv``: open customer accounts from a CSV file.

The row-by-row import (columns, validation, line numbers) is :mod:`api.cli.csv_import`; this
module checks the file, prints each bad row as ``FILE:LINE: message`` and sets the exit code
(1 when any row failed, 2 when the file as a whole is unusable).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from api.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, cli_causation
from api.cli.csv_import import BadCsvFile, import_accounts
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings


def add_parser(commands: Any) -> None:
    accounts = commands.add_parser("accounts", help="account administration")
    account_commands = accounts.add_subparsers(dest="accounts_command", required=True)
    importer = account_commands.add_parser(
        "import",
        help="open customer accounts from a CSV file",
        description="CSV columns: iban,holder_name,currency,overdraft_limit (header required), "
        "optionally holder_type (NATURAL/LEGAL), further_names (a|b), identifiers "
        "(LEI:x|VAT:y|NATIONAL:z). "
        "Bad rows are reported with their line number; the others are imported. "
        "Exit code 1 when any row failed.",
    )
    importer.add_argument("file", type=Path, metavar="FILE.csv")


def cmd_accounts_import(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"ledger: {path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    container = bootstrap(settings)
    try:
        with path.open(newline="", encoding="utf-8-sig") as lines:
            try:
                report = import_accounts(container.ledger, lines, cli_causation())
            except BadCsvFile as error:
                print(f"ledger: {path}: {error}", file=sys.stderr)
                return EXIT_USAGE
        for problem in report.errors:
            print(f"{path}:{problem.line}: {problem.message}", file=sys.stderr)
        print(f"imported {len(report.opened)} accounts, {len(report.errors)} rows failed")
        container.projector.catch_up()
        return EXIT_OK if report.ok else EXIT_FAILED
    finally:
        container.close()
