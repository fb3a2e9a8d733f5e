"""``ledger projections quarantine list|retry``: the events a follower of the log skipped.

::

    ledger projections quarantine list [--all] [--json]
    ledger projections quarantine retry (--id N [--id N ...] | --all)

``list`` shows the open entries of ``rm_quarantine`` (``--all``: resolved ones too).
``retry`` hands each open entry, in log order, back to its follower (after a fix is
deployed): a projection applies the event again (and resolves the entry in the same
transaction), the notification rules evaluate it again, the outbox publishes it (needs
``LEDGER_STOMP_URL``), the fraud features fold it into a fresh state (the running processes
replay it at their next start). An entry that still fails stays open with one attempt more.
Exit code 1 when any entry failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.table import Table

from adapters.messaging.connection import StompSession
from adapters.messaging.metrics import IngestionMetrics
from adapters.messaging.outbox import FOLLOWER as OUTBOX
from adapters.messaging.outbox import OutboxPublisher
from api.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from application.fraud.features import OnlineFeatures, apply_ledger_event
from application.notifications.evaluation import RuleEvaluator
from domain.fraud.features import FeatureState
from projections.quarantine import Entry


def add_parser(projection_commands: Any) -> None:
    """The ``quarantine`` command under ``ledger projections``."""
    quarantine = projection_commands.add_parser(
        "quarantine", help="events a projection (or another follower of the log) skipped"
    )
    commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = commands.add_parser("list", help="the open quarantined events")
    listing.add_argument("--all", action="store_true", help="resolved entries too")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    retry = commands.add_parser("retry", help="hand quarantined events back to their follower")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, action="append", dest="ids", metavar="N")
    which.add_argument("--all", action="store_true", help="every open entry")


def run(args: argparse.Namespace, settings: Settings, container: Container) -> int:
    if args.quarantine_command == "list":
        return _list(container, everything=args.all, as_json=args.json)
    return _retry(container, settings, args.ids)


def _row(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "follower": entry.follower,
        "context": entry.context,
        "position": entry.position,
        "originatorId": entry.originator_id,
        "originatorVersion": entry.originator_version,
        "topic": entry.topic,
        "errorType": entry.error_type,
        "error": entry.error,
        "status": entry.status,
        "attempts": entry.attempts,
        "firstSeen": entry.first_seen.isoformat(),
        "lastSeen": entry.last_seen.isoformat(),
        "resolvedAt": entry.resolved_at.isoformat() if entry.resolved_at else None,
        "resolution": entry.resolution,
    }


def _list(container: Container, *, everything: bool, as_json: bool) -> int:
    entries = container.projector.quarantined.entries(status=None if everything else "open")
    if as_json:
        for entry in entries:
            print(json.dumps(_row(entry)))
        return EXIT_OK
    table = Table(title="quarantined events")
    for column in ("id", "follower", "event", "originator", "error", "status", "attempts"):
        table.add_column(column, justify="right" if column in {"id", "attempts"} else "left")
    for entry in entries:
        table.add_row(
            str(entry.id),
            entry.follower,
            f"{entry.context}#{entry.position}",
            f"{entry.topic.rpartition(':')[2]} {entry.originator_id} v{entry.originator_version}",
            f"{entry.error_type}: {entry.error[:120]}",
            entry.status,
            str(entry.attempts),
        )
    console = Console(width=200)
    console.print(table)
    console.print(f"{len(entries)} {'entries' if everything else 'open'}")
    return EXIT_OK


def _retry(container: Container, settings: Settings, ids: list[int] | None) -> int:
    store = container.projector.quarantined
    entries = store.entries(status=None, ids=ids) if ids else store.entries()
    missing = sorted(set(ids or ()) - {e.id for e in entries})
    if missing:
        print(f"ledger: no quarantine entry {missing[0]}", file=sys.stderr)
        return EXIT_USAGE
    with ExitStack() as stack:
        report = store.retry(entries, _handlers(container, settings, stack))
    for entry_id in report.resolved:
        print(f"resolved {entry_id}")
    for entry_id, reason in report.skipped.items():
        print(f"skipped {entry_id}: {reason}")
    for entry_id, reason in report.failed.items():
        print(f"failed {entry_id}: {reason}")
    return EXIT_FAILED if report.failed else EXIT_OK


def _handlers(
    container: Container, settings: Settings, stack: ExitStack
) -> Callable[[Entry], Callable[[Entry], Any] | None]:
    """The retry of each kind of follower, built on first use."""
    projector = container.projector
    evaluator = container.notification_evaluator
    outbox: list[Callable[[Entry], None]] = []

    def features(entry: Entry) -> None:
        source = next(s for s in container.sources if s.name == entry.context)
        found = source.notifications(entry.position - 1, 1, stop=entry.position)
        if not found or found[0].id != entry.position:
            raise LookupError(f"{entry.context}#{entry.position} is not in the log")
        apply_ledger_event(FeatureState(), source.decode(found[0]).event)

    def pick(entry: Entry) -> Callable[[Entry], Any] | None:
        if entry.follower in {p.name for p in projector.projections}:
            return projector.retry_quarantined
        if entry.follower == RuleEvaluator.FOLLOWER and evaluator is not None:
            return lambda e: evaluator.retry(e.context, e.position)
        if entry.follower == OnlineFeatures.FOLLOWER:
            return features
        if entry.follower == OUTBOX and settings.stomp is not None:
            if not outbox:
                outbox.append(stack.enter_context(_outbox(container, settings)))
            return outbox[0]
        return None

    return pick


@contextmanager
def _outbox(container: Container, settings: Settings) -> Iterator[Callable[[Entry], None]]:
    """Publishes entries through an outbox publisher of its own (one broker session)."""
    assert settings.stomp is not None
    source = next(s for s in container.sources if s.name == "ledger")
    publisher = OutboxPublisher(
        settings.stomp,
        source,
        container.read_engine,
        IngestionMetrics(CollectorRegistry()),
        lock_dir=settings.data_dir,
        scope=settings.database.schema_name or "",
    )
    session = StompSession(settings.stomp).open()
    try:
        yield lambda entry: publisher.retry(session, entry.position)
    finally:
        session.close()
