"""The ``ledger`` command: builds the parser from the command groups and dispatches.

::

    ledger serve [--role all|api|projector|ingestion|fraud|reconciliation|notifications]
    ledger migrate
    ledger demo [--if-empty] [--accounts N] [--transactions N] [--seed S]
    ledger accounts import FILE.csv
    ledger projections status
    ledger projections rebuild [NAME]
    ledger projections quarantine list [--all] [--json] | retry (--id N | --all)
    ledger replay --as-of T --out FILE [--force]
    ledger report NAME --as-of T [--param K=V ...] [--format csv|xlsx] --out FILE [--force]
    ledger reports
    ledger users bootstrap --user NAME [--user ...] --roles admin[,...] [--display-name N] [--force]
    ledger users list
    ledger approvals expire
    ledger fraud simulate|train|evaluate|models|promote|rollback ...
    ledger token --user NAME|--service NAME --roles ... | ledger permissions
    ledger audit verify [--json] [--anchor FILE] | head
    ledger reconcile import FILE... | breaks [--open]

One module per command group in this package (``api/cli/<group>.py``: its ``add_parser`` and
its ``cmd_*`` handler), shared helpers in :mod:`api.cli.common`. Settings come from the
``LEDGER_*`` environment variables (see ``api/runtime/settings/``); an invalid value stops the
command with exit code 2 before anything is opened.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence

from api.cli import (
    accounts,
    approvals,
    audit,
    demo,
    fraud,
    migrate,
    projections,
    reconcile,
    replay,
    report,
    serve,
    token,
    users,
)
from api.cli.common import EXIT_FAILED, EXIT_USAGE
from api.runtime.logs import configure_logging
from api.runtime.settings import Settings, SettingsError

GROUPS = (
    serve,
    demo,
    accounts,
    projections,
    migrate,
    replay,
    report,
    users,
    approvals,
    fraud,
    token,  # token and permissions
    audit,
    reconcile,
)
"""The command groups, in the order ``ledger --help`` lists their commands."""

Handler = Callable[[argparse.Namespace, Settings], int]

HANDLERS: dict[str, Handler] = {
    "serve": serve.cmd_serve,
    "demo": demo.cmd_demo,
    "accounts": accounts.cmd_accounts_import,
    "projections": projections.cmd_projections,
    "replay": replay.cmd_replay,
    "report": report.cmd_report,
    "reports": report.cmd_reports,
    "migrate": migrate.cmd_migrate,
    "fraud": fraud.cmd_fraud,
    "token": token.cmd_token,
    "permissions": token.cmd_permissions,
    "audit": audit.cmd_audit,
    "reconcile": reconcile.cmd_reconcile,
    "users": users.cmd_users,
    "approvals": approvals.cmd_approvals,
}
"""Each top-level command's handler, by the command name the group's parser registers."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Event-sourced banking ledger: API server, projector and admin commands.",
        epilog="Configuration: LEDGER_* environment variables (see docs/configuration.md).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``ledger`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        print(f"ledger: {error}", file=sys.stderr)
        return EXIT_USAGE
    quiet = settings.log_level if settings.log_level != "INFO" else "WARNING"
    configure_logging(settings.log_level if args.command == "serve" else quiet)
    try:
        return HANDLERS[args.command](args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if settings.log_level == "DEBUG":
            raise
        print(f"ledger: error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
