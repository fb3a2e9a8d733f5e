"""``ledger token`` (development tokens) and ``ledger permissions`` (the permission matrix).

::

    ledger token --user NAME --roles admin[,operator...] [--ttl 8h]
    ledger token --service NAME --roles channel [--ttl 30d]
    ledger permissions [--markdown]

``ledger token`` signs with the local development issuer (keys under
``<LEDGER_DATA_DIR>/auth``) and prints only the token, so ``TOKEN=$(ledger token ...)`` works.
It refuses to run with ``LEDGER_ENV=production`` or when a production key set is configured:
there tokens come from the identity provider. A person's token only carries roles that the
identity context has granted them (``ledger users ...``); the API checks that on every request.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from adapters.persistence import event_store_env
from api.cli.common import EXIT_OK, EXIT_USAGE
from api.runtime.settings import Settings
from api.security import local_issuer
from application.identity.app import IdentityApplication
from domain.identity.permissions import HUMAN_ROLES, SERVICE_ROLES, Permission
from domain.identity.users import PRINCIPAL_NAME

MAX_USER_TTL = 24 * 3600
MAX_SERVICE_TTL = 30 * 24 * 3600
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(PRINCIPAL_NAME)


def duration(text: str) -> int:
    """Seconds from ``90``, ``90s``, ``15m``, ``8h`` or ``1d``."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"not a duration like 900, 15m, 8h or 1d: {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def add_parser(commands: Any) -> None:
    token = commands.add_parser(
        "token",
        help="print a development bearer token (local issuer)",
        description="Sign a JWT with the local development issuer. People: --user NAME with "
        f"roles from {', '.join(HUMAN_ROLES)}. Services: --service NAME with roles from "
        f"{', '.join(SERVICE_ROLES)}.",
    )
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="a backoffice user's name (sub = user:NAME)")
    who.add_argument("--service", help="a machine client's name (sub = service:NAME)")
    token.add_argument("--roles", required=True, help="comma-separated role names")
    token.add_argument(
        "--channels",
        help="a channel service's payment channels (e.g. MOBILE,WEB); it may submit and read "
        "payments of these only",
    )
    token.add_argument(
        "--ttl",
        type=duration,
        default=None,
        help="lifetime (default 8h for people, 24h for services)",
    )
    permissions = commands.add_parser(
        "permissions", help="print the role/permission matrix (Markdown)"
    )
    permissions.set_defaults(markdown=True)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    if settings.is_production or not settings.auth.uses_local_issuer:
        print(
            "ledger token: the local issuer is for development only; this deployment trusts "
            f"{settings.auth.describe()['keys']} — get tokens from that identity provider",
            file=sys.stderr,
        )
        return EXIT_USAGE
    person = args.user is not None
    name = (args.user if person else args.service).strip().lower()
    if not _NAME.fullmatch(name):
        print(f"ledger token: invalid name {name!r} (a-z, 0-9, . _ -; 2-64)", file=sys.stderr)
        return EXIT_USAGE
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    allowed = HUMAN_ROLES if person else SERVICE_ROLES
    unknown = [r for r in roles if r not in allowed]
    if unknown or not roles:
        kind = "people" if person else "services"
        print(
            f"ledger token: roles for {kind} are {', '.join(allowed)}; got {args.roles!r}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    channels = [c.strip().upper() for c in (args.channels or "").split(",") if c.strip()]
    if person and channels:
        print("ledger token: --channels is for channel services only", file=sys.stderr)
        return EXIT_USAGE
    if "channel" in roles and not channels:
        print("ledger token: a channel token needs --channels (e.g. MOBILE)", file=sys.stderr)
        return EXIT_USAGE
    ttl = args.ttl or (8 * 3600 if person else 24 * 3600)
    ceiling = MAX_USER_TTL if person else MAX_SERVICE_TTL
    if ttl > ceiling:
        print(f"ledger token: --ttl at most {ceiling // 3600}h here", file=sys.stderr)
        return EXIT_USAGE
    subject = f"{'user' if person else 'service'}:{name}"
    issuer = local_issuer(settings.auth, settings.data_dir)
    print(issuer.issue(subject, roles, ttl, channels=channels or None))
    if person:
        for warning in _directory_warnings(settings, name, roles):
            print(f"ledger token: warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _directory_warnings(settings: Settings, name: str, roles: list[str]) -> list[str]:
    """What the API will make of this person's token, from the identity context: the token
    is printed anyway (the store may be elsewhere), but the user hears why it would fail."""
    try:
        identity = IdentityApplication(env=event_store_env(settings.database_config(), "identity"))
        try:
            entry = identity.lookup(name)
        finally:
            identity.close()
    except Exception as error:  # the token is still useful against another store
        return [f"could not check {name} in the identity context ({type(error).__name__})"]
    if entry is None:
        return [
            f"{name} is not registered here; the API will refuse this token "
            "(ledger users bootstrap, or registerUser and a role grant)"
        ]
    warnings = []
    if not entry.active:
        warnings.append(f"{name} is suspended; the API will refuse this token")
    missing = sorted(set(roles) - entry.roles)
    if missing:
        granted = ", ".join(sorted(entry.roles)) or "none"
        warnings.append(
            f"{name} has not been granted {', '.join(missing)} (granted: {granted}); "
            "the API ignores roles that were not granted"
        )
    return warnings


def permission_matrix() -> str:
    """The Markdown table of roles (columns) by permission (rows), as in docs/security.md."""
    roles = {**HUMAN_ROLES, **SERVICE_ROLES}
    header = "| permission | " + " | ".join(f"`{r}`" for r in roles) + " |"
    rule = "|---|" + "|".join(":-:" for _ in roles) + "|"
    rows = [
        f"| `{p.value}` | "
        + " | ".join("✓" if p in granted else "" for granted in roles.values())
        + " |"
        for p in Permission
    ]
    return "\n".join([header, rule, *rows])


def cmd_permissions(_args: argparse.Namespace, _settings: Settings) -> int:
    print(permission_matrix())
    return EXIT_OK
