"""``ledger users bootstrap|list``: backoffice users of the identity context.

``bootstrap`` provisions users with roles directly, without maker-checker: the way to create
the first admins. It is refused when the store already has an active admin (unless
``--force``); the events name the console user.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.table import Table

from api.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, cli_causation, console
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from application.errors import InvalidCommand
from domain.causation import caused_by
from domain.identity.permissions import HUMAN_ROLES
from domain.identity.users import normalise_user_name


def add_parser(commands: Any) -> None:
    users = commands.add_parser("users", help="backoffice users (identity context)")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    provision = user_commands.add_parser(
        "bootstrap",
        help="provision a user with roles, without maker-checker (the first admin)",
        description="Register each USER if needed and grant ROLES directly, without a second "
        "person's approval: the way to create the first admins (e.g. --user alice --user bob "
        "--roles admin). Refused when the store already has an active admin, unless --force. "
        "The events name the console user.",
    )
    provision.add_argument(
        "--user",
        required=True,
        action="append",
        help="user name ([a-z0-9._-]{2,64}); repeat it to provision several at once "
        "(maker-checker needs two admins to start with)",
    )
    provision.add_argument(
        "--roles", required=True, type=_roles, help="comma-separated human roles, e.g. admin"
    )
    provision.add_argument("--display-name", help="shown name (default: the user name)")
    provision.add_argument(
        "--force", action="store_true", help="provision even when an active admin exists"
    )
    user_commands.add_parser("list", help="users, their status and roles")


def _roles(text: str) -> list[str]:
    roles = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [role for role in roles if role not in HUMAN_ROLES]
    if not roles or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown role(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(HUMAN_ROLES)}"
        )
    return roles


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        container.projector.catch_up()
        if args.users_command == "bootstrap":
            return _bootstrap(container, args)
        return _list(container)
    finally:
        container.close()


def _bootstrap(container: Container, args: argparse.Namespace) -> int:
    try:
        names = list(dict.fromkeys(normalise_user_name(user) for user in args.user))
    except ValueError as error:
        print(f"ledger: --user: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.display_name and len(names) > 1:
        print("ledger: --display-name names one --user only", file=sys.stderr)
        return EXIT_USAGE
    admins = container.identity_queries.active_users_with_role("admin")
    if admins and not args.force:
        print(
            f"users bootstrap: refused: the store already has active admin(s) "
            f"{', '.join(admins)}; grant roles by request and approval (or pass --force)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    causation = cli_causation()
    for name in names:
        before = container.identity.lookup(name)
        try:
            with caused_by(causation):
                entry = container.identity.provision_user(name, args.roles, args.display_name)
        except InvalidCommand as error:
            print(f"ledger: {error}", file=sys.stderr)
            return EXIT_USAGE
        added = sorted(entry.roles - (before.roles if before else frozenset()))
        what = "registered" if before is None else "already registered"
        state = "active" if entry.active else "suspended"
        print(
            f"users bootstrap: {entry.name} {what}; granted {', '.join(added) or 'nothing new'}; "
            f"now holds {', '.join(sorted(entry.roles))} ({state}); recorded as {causation.actor}"
        )
    container.projector.catch_up()
    return EXIT_OK


def _list(container: Container) -> int:
    table = Table(title="users")
    for column in ("name", "display name", "status", "roles", "updated"):
        table.add_column(column)
    after = None
    count = 0
    while True:
        page = container.identity_queries.users(None, 200, after)
        for _, view in page.edges:
            table.add_row(
                view.name,
                view.display_name,
                view.status,
                ", ".join(view.roles) or "-",
                view.updated_at.isoformat(timespec="seconds"),
            )
            count += 1
        if not page.has_next_page:
            break
        after = page.end_cursor
    if count:
        console().print(table)
    else:
        print(
            "no users yet; create the first admin with: ledger users bootstrap --user NAME "
            "--roles admin"
        )
    return EXIT_OK
