"""The ``ledger`` command.

::

    ledger serve [--role all|api|projector|ingestion|fraud|reconciliation|notifications]
    ledger migrate
    ledger demo [--if-empty] [--accounts N] [--transactions N] [--seed S]
    ledger accounts import FILE.csv
    ledger projections status
    ledger projections rebuild [NAME]
    ledger projections quarantine list [--all] [--json] | retry (--id N | --all)
    ledger replay --as-of T --out FILE [--force]
    ledger users bootstrap --user NAME [--user ...] --roles admin[,...] [--display-name N] [--force]
    ledger users list
    ledger approvals expire
    ledger fraud simulate|train|evaluate|models|promote|rollback ...   (see api/cli/fraud.py)
    ledger audit verify [--json] [--anchor FILE] | head               (see api/cli/audit.py)
    ledger reconcile import FILE... | breaks [--open]                 (see api/cli/reconcile.py)

Settings come from the ``LEDGER_*`` environment variables (see ``api/runtime/settings/``); an
invalid value stops the command with exit code 2 before anything is opened.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from api.cli.common import cli_causation
from api.runtime.roles import ROLE_NAMES
from api.runtime.settings import Settings, SettingsError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

ROLES = ROLE_NAMES


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Event-sourced banking ledger: API server, projector and admin commands.",
        epilog="Configuration: LEDGER_* environment variables (see docs/configuration.md).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run a process role (default all: everything in one process)",
        description="Run one process role of the system. 'all' (default) serves REST and "
        "GraphQL and runs every background worker in one process; 'api' serves only; "
        "'projector' follows the event log; 'ingestion' consumes the message queue; the "
        "other roles run their background workers. Roles without an API serve only "
        "/healthz, /readyz and /metrics.",
    )
    serve.add_argument("--role", choices=ROLES, default="all", help="process role (default all)")
    serve.add_argument("--host", help="bind address (default LEDGER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port (default LEDGER_PORT or 8000)")

    demo = commands.add_parser(
        "demo",
        help="seed realistic demo accounts and payments",
        description="Open customer accounts and book a few thousand realistic payments.",
    )
    demo.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when the event store already holds events",
    )
    demo.add_argument("--accounts", type=_positive, default=60, help="customer accounts (60)")
    demo.add_argument("--transactions", type=_non_negative, default=3000, help="payments (3000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (42)")

    accounts = commands.add_parser("accounts", help="account administration")
    account_commands = accounts.add_subparsers(dest="accounts_command", required=True)
    importer = account_commands.add_parser(
        "import",
        help="open customer accounts from a CSV file",
        description="CSV columns: iban,holder_name,currency,overdraft_limit (header required). "
        "Bad rows are reported with their line number; the others are imported. "
        "Exit code 1 when any row failed.",
    )
    importer.add_argument("file", type=Path, metavar="FILE.csv")

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
    from api.cli import quarantine as quarantine_cli

    quarantine_cli.add_parser(projection_commands)

    commands.add_parser(
        "migrate",
        help="create the event tables and read-model tables (idempotent)",
        description="Create the PostgreSQL schema, every context's event table and every "
        "read-model table that does not exist yet, and the append-only triggers on the event "
        "tables and the audit chain. Safe to run on every deploy (the Helm chart runs it as a "
        "pre-install/pre-upgrade hook).",
    )

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

    approvals = commands.add_parser("approvals", help="maker-checker change requests")
    approval_commands = approvals.add_subparsers(dest="approvals_command", required=True)
    approval_commands.add_parser(
        "expire",
        help="mark every pending request past its expiry as EXPIRED",
        description="Mark every PENDING change request whose expiry has passed as EXPIRED "
        "(LEDGER_APPROVAL_TTL_HOURS after it was made). Safe to run from cron.",
    )

    from api.cli import audit as audit_cli
    from api.cli import fraud as fraud_cli
    from api.cli import reconcile as reconcile_cli
    from api.cli import token as token_cli

    fraud_cli.add_parser(commands)
    token_cli.add_parser(commands)
    audit_cli.add_parser(commands)
    reconcile_cli.add_parser(commands)
    return parser


def _roles(text: str) -> list[str]:
    from domain.identity.permissions import HUMAN_ROLES

    roles = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [role for role in roles if role not in HUMAN_ROLES]
    if not roles or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown role(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(HUMAN_ROLES)}"
        )
    return roles


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("port must be between 1 and 65535")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


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


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``ledger`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        print(f"ledger: {error}", file=sys.stderr)
        return EXIT_USAGE
    from api.runtime.observability import configure_logging

    quiet = settings.log_level if settings.log_level != "INFO" else "WARNING"
    configure_logging(settings.log_level if args.command == "serve" else quiet)
    handlers: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "serve": cmd_serve,
        "demo": cmd_demo,
        "accounts": cmd_accounts_import,
        "projections": cmd_projections,
        "replay": cmd_replay,
        "migrate": cmd_migrate,
        "fraud": cmd_fraud,
        "token": cmd_token,
        "permissions": cmd_permissions,
        "audit": cmd_audit,
        "reconcile": cmd_reconcile,
        "users": cmd_users,
        "approvals": cmd_approvals,
    }
    try:
        return handlers[args.command](args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if settings.log_level == "DEBUG":
            raise
        print(f"ledger: error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED


def cmd_fraud(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli.fraud import cmd_fraud as run

    return run(args, settings)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli.token import cmd_token as run

    return run(args, settings)


def cmd_permissions(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli.token import cmd_permissions as run

    return run(args, settings)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli.audit import cmd_audit as run

    return run(args, settings)


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli.reconcile import cmd_reconcile as run

    return run(args, settings)


def _console(stream: TextIO | None = None) -> Any:
    from rich.console import Console

    return Console(file=stream or sys.stdout, soft_wrap=True)


# --------------------------------------------------------------------------- serve


@contextmanager
def _graceful_signals(stop: threading.Event) -> Iterator[list[int]]:
    """Turn SIGTERM/SIGINT into ``stop.set()`` instead of dying, for the whole of ``serve``.

    A signal during startup is remembered and ends the command once startup is done. While
    uvicorn runs it installs its own handlers (graceful shutdown) and, when done, re-raises the
    signal it caught; with this handler back in place that re-raise is recorded, and ``serve``
    exits 0.
    """
    received: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {sig: signal.signal(sig, record) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _tracing_flushed(shutdown: Callable[[], None]) -> Iterator[None]:
    """Flush the queued spans on the way out of ``serve``, however it ends (SIGTERM too)."""
    try:
        yield
    finally:
        shutdown()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from api.runtime.observability import get_logger
    from api.runtime.tracing import configure_tracing, shutdown_tracing

    log = get_logger("api.cli.main")
    stop = threading.Event()
    # Before anything that may open a span; off (nothing installed) without an OTLP endpoint.
    configure_tracing(args.role)
    with _graceful_signals(stop) as received, _tracing_flushed(shutdown_tracing):
        import uvicorn

        from adapters.migration import SchemaNotMigrated
        from api.http.app import create_app
        from api.runtime.bootstrap import bootstrap
        from api.runtime.roles import build_workers, role
        from api.runtime.tuning import tune_for_latency

        try:  # no DDL at process start: `ledger migrate` made the tables
            container = bootstrap(settings, migrate=False)
        except SchemaNotMigrated as refusal:
            print(f"ledger: {refusal}", file=sys.stderr)
            return EXIT_USAGE
        try:
            container.warm_up()  # the fraud model's online features, if a model is promoted
            if stop.is_set():
                return EXIT_OK  # stopped while starting
            process = role(args.role)
            if process.ingestion == "yes" and settings.stomp is None:
                print(
                    "ledger: the ingestion role needs LEDGER_STOMP_URL "
                    "(e.g. stomp://guest:guest@127.0.0.1:61613)",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            app = create_app(
                container,
                run_projector=process.runs_projector,
                run_ingestion=process.ingestion == "yes"
                or (process.ingestion == "if-configured" and settings.stomp is not None),
                operations_only=not process.serves_api,
                workers=build_workers(process, container),
            )
            if process.reads_projected:
                container.projector_active = True  # a projector process follows the same log
            config = uvicorn.Config(
                app,
                host=args.host or settings.http.host,
                port=args.port or settings.http.port,
                log_config=None,
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=10,
                server_header=False,
            )
            server = uvicorn.Server(config)
            tune_for_latency()  # api/runtime/tuning.py: GC and GIL settings for latency
            server.run()
            if received:
                names = [signal.Signals(s).name for s in received]
                log.info("shut down on signal", signals=names)
            return EXIT_OK if server.started else EXIT_FAILED
        finally:
            container.close()


# --------------------------------------------------------------------------- migrate


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """The only place DDL runs for the long-running processes: create what is missing (the
    schema, event tables and read models), install the append-only triggers (tamper
    evidence), then record the schema version ``ledger serve`` checks before it starts.
    The other admin commands are one-off and create what they miss themselves
    (``bootstrap(migrate=True)``) but record no version."""
    from adapters.migration import SCHEMA_VERSION, record_migration
    from api.runtime.bootstrap import bootstrap

    container = bootstrap(settings, migrate=True)
    try:
        record_migration(container.read_engine)
        print(f"migrate: schema version {SCHEMA_VERSION}")
        heads = container.heads()
        backend = settings.database_config().label
        print(f"migrate: {backend} store ready; events per context: {heads}")
        return EXIT_OK
    finally:
        container.close()


# --------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from api.runtime.bootstrap import bootstrap
    from api.seed.demo import seed_demo

    console = _console()
    container = bootstrap(settings)
    try:
        if args.if_empty and any(container.heads().values()):
            console.print("demo: the event store already holds events; nothing to do.")
            # Keep the read models current for the server that starts next.
            container.projector.catch_up()
            return EXIT_OK
        with Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress:
            tasks: dict[str, Any] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=done, total=total)

            result = seed_demo(
                container,
                accounts=args.accounts,
                transactions=args.transactions,
                seed=args.seed,
                progress=report,
            )
        console.print(
            f"demo: {result.accounts_opened} accounts opened"
            + (f" ({result.accounts_existing} existed)" if result.accounts_existing else "")
            + f", {result.submitted} payments submitted"
            + (f" ({result.duplicates} repeats)" if result.duplicates else "")
        )
        statuses = ", ".join(f"{k} {v}" for k, v in result.final_statuses().items())
        console.print(f"demo: transactions by status: {statuses}")
        if result.by_reason:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(result.by_reason.items()))
            console.print(f"demo: rejections: {reasons}")
        console.print(
            f"demo: {result.released} released and {result.rejected_after_review} rejected "
            f"after review, {result.reversed} reversed, {result.settled} settled, "
            f"{len(result.frozen)} accounts frozen; {result.events_projected} events projected"
        )
        console.print(
            f"demo: backoffice users {', '.join(result.users) or '-'} (admins alice, bob); "
            f"{result.approved} change requests approved by a second person, "
            f"{len(result.pending)} left pending"
        )
        return EXIT_OK
    finally:
        container.close()


# --------------------------------------------------------------------------- accounts


def cmd_accounts_import(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli.csv_import import BadCsvFile, import_accounts
    from api.runtime.bootstrap import bootstrap

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


# --------------------------------------------------------------------------- projections


def cmd_projections(args: argparse.Namespace, settings: Settings) -> int:
    from api.runtime.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        if args.projections_command == "status":
            return _projection_status(container)
        if args.projections_command == "quarantine":
            from api.cli import quarantine as quarantine_cli

            return quarantine_cli.run(args, settings, container)
        return _projection_rebuild(container, args.name)
    finally:
        container.close()


def _projection_status(container: Any) -> int:
    from rich.table import Table

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
    _console().print(table)
    return EXIT_OK


def _projection_rebuild(container: Any, name: str | None) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from projections.runner import PROJECTIONS

    names = [name] if name else list(PROJECTIONS)
    unknown = [n for n in names if n not in PROJECTIONS]
    if unknown:
        print(
            f"ledger: unknown projection {unknown[0]!r}; known: {', '.join(PROJECTIONS)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    console = _console()
    with Progress(
        TextColumn("rebuild {task.description:<13}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for projection in names:
            task = progress.add_task(projection, total=None)

            def report(done: int, total: int, task: Any = task) -> None:
                progress.update(task, completed=done, total=total)

            count = container.projector.rebuild(projection, progress=report)
            progress.update(task, completed=count, total=count)
    console.print(f"rebuilt {', '.join(names)}")
    return EXIT_OK


# --------------------------------------------------------------------------- users


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from api.runtime.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        container.projector.catch_up()
        if args.users_command == "bootstrap":
            return _users_bootstrap(container, args)
        return _users_list(container)
    finally:
        container.close()


def _users_bootstrap(container: Any, args: argparse.Namespace) -> int:
    from application.errors import InvalidCommand
    from domain.causation import caused_by
    from domain.identity.users import normalise_user_name

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


def _users_list(container: Any) -> int:
    from rich.table import Table

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
        _console().print(table)
    else:
        print(
            "no users yet; create the first admin with: ledger users bootstrap --user NAME "
            "--roles admin"
        )
    return EXIT_OK


def cmd_approvals(args: argparse.Namespace, settings: Settings) -> int:
    from api.runtime.bootstrap import bootstrap
    from domain.causation import caused_by

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


# --------------------------------------------------------------------------- replay


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from api.runtime.bootstrap import bootstrap
    from projections.replay import replay_to_sqlite

    out: Path = args.out
    if out.exists() and not args.force:
        print(f"ledger: {out} exists; pass --force to replace it", file=sys.stderr)
        return EXIT_USAGE
    container = bootstrap(settings)
    console = _console()
    try:
        with Progress(
            TextColumn("replay"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("replay", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            events = replay_to_sqlite(
                container.sources, args.as_of, out, progress=report, overwrite=args.force
            )
        console.print(
            f"replay: {events} events recorded at or before {args.as_of.isoformat()} -> {out}"
        )
        return EXIT_OK
    finally:
        container.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
