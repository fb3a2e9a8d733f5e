"""``ledger demo [--if-empty] [--accounts N] [--transactions N] [--seed S]``: demo data.

The data itself (accounts, payments, users, approvals) is :mod:`api.seed.demo`; this module
parses the options, shows the progress and prints the summary.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.cli.common import EXIT_OK, console
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from api.seed.demo import seed_demo


def add_parser(commands: Any) -> None:
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


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    out = console()
    container = bootstrap(settings)
    try:
        if args.if_empty and any(container.heads().values()):
            out.print("demo: the event store already holds events; nothing to do.")
            # Keep the read models current for the server that starts next.
            container.projector.catch_up()
            return EXIT_OK
        with Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=out,
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
        out.print(
            f"demo: {result.accounts_opened} accounts opened"
            + (f" ({result.accounts_existing} existed)" if result.accounts_existing else "")
            + f", {result.submitted} payments submitted"
            + (f" ({result.duplicates} repeats)" if result.duplicates else "")
        )
        statuses = ", ".join(f"{k} {v}" for k, v in result.final_statuses().items())
        out.print(f"demo: transactions by status: {statuses}")
        if result.by_reason:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(result.by_reason.items()))
            out.print(f"demo: rejections: {reasons}")
        out.print(
            f"demo: {result.released} released and {result.rejected_after_review} rejected "
            f"after review, {result.reversed} reversed, {result.settled} settled, "
            f"{len(result.frozen)} accounts frozen; {result.events_projected} events projected"
        )
        out.print(
            f"demo: backoffice users {', '.join(result.users) or '-'} (admins alice, bob); "
            f"{result.approved} change requests approved by a second person, "
            f"{len(result.pending)} left pending"
        )
        return EXIT_OK
    finally:
        container.close()
