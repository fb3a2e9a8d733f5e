"""``ledger approvals expire``: maker-checker change requests past their expiry.

Marks every PENDING change request whose expiry has passed (``LEDGER_APPROVAL_TTL_HOURS``
after it was made) as EXPIRED, attributed to the console user. Safe to run from cron.
"""

from __future__ import annotations

import argparse
from typing import Any

from api.cli.common import EXIT_OK, cli_causation
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from domain.causation import caused_by


def add_parser(commands: Any) -> None:
    approvals = commands.add_parser("approvals", help="maker-checker change requests")
    approval_commands = approvals.add_subparsers(dest="approvals_command", required=True)
    approval_commands.add_parser(
        "expire",
        help="mark every pending request past its expiry as EXPIRED",
        description="Mark every PENDING change request whose expiry has passed as EXPIRED "
        "(LEDGER_APPROVAL_TTL_HOURS after it was made). Safe to run from cron.",
    )


def cmd_approvals(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        with caused_by(cli_causation()):
            expired = container.identity.expire_due()
        container.projector.catch_up()
        pending = len(container.identity.pending())
        print(f"approvals expire: {expired} request(s) expired; {pending} still pending")
        return EXIT_OK
    finally:
        container.close()
