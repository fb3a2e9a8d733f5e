"""``ledger audit ...``: tamper evidence of the event store.

::

    ledger audit verify [--json] [--anchor FILE]
    ledger audit head

``verify`` recomputes every context's hash chain from the raw event log and compares it with
the stored chain (exit 0 when intact, 1 naming the first broken link of each broken context),
and checks every stored snapshot against the events it claims to summarise (exit 1 naming
each snapshot the events do not vouch for: context, originator, version, what differs);
with ``--anchor`` it also checks that a head printed earlier by ``head`` is still a link of
both. ``head`` first chains what the projector has not chained yet, then prints every
context's chain head as JSON, to be kept outside the system (WORM bucket, notary).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.audit.snapshot_verify import verify_snapshots
from api.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, read_only_database
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from projections.audit.chain_verify import (
    Anchor,
    chain_heads,
    heads_document,
    parse_anchors,
    verify_chains,
)
from projections.runner.projector import Projector


def add_parser(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="tamper evidence: verify the event log's hash chain, print its head",
        description="Every context's events are hash-chained in notification order; "
        "verify recomputes the chain from the raw log and compares it with the stored one.",
    )
    sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser(
        "verify",
        help="recompute every chain and compare it with the stored chain",
        description="Exit 0 when every context is intact (one summary line each); exit 1 "
        "naming the first broken link of a context whose events or chain were altered, "
        "deleted or inserted, and each stored snapshot whose state is not the state its "
        "events fold to. Events not chained yet are reported as the unchained tail.",
    )
    verify.add_argument("--json", action="store_true", help="print the reports as JSON")
    verify.add_argument(
        "--anchor",
        type=Path,
        metavar="FILE",
        help="a head document from `ledger audit head`: its heads must still be links",
    )
    sub.add_parser(
        "head",
        help="print the chain head of every context as JSON (for external anchoring)",
        description="Chains the events not chained yet, then prints context, position, "
        "chain hash and the head event's time per context.",
    )


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    anchors = None
    if args.audit_command == "verify" and args.anchor is not None:
        try:
            anchors = parse_anchors(json.loads(args.anchor.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            print(f"ledger: {args.anchor}: {error}", file=sys.stderr)
            return EXIT_USAGE
    # `verify` only reads: on a standby (the secondary region, a restored replica) it runs
    # without DDL, which the standby would refuse; `head` chains the tail, a write.
    read_only = args.audit_command == "verify" and read_only_database(settings)
    container = bootstrap(settings, migrate=not read_only)
    try:
        if args.audit_command == "head":
            return _head(container)
        return _verify(container, anchors, as_json=args.json)
    finally:
        container.close()


def _verify(container: Container, anchors: dict[str, Anchor] | None, *, as_json: bool) -> int:
    contexts = {s.name for s in container.sources}
    unknown = sorted(set(anchors or ()) - contexts)
    if unknown:
        print(f"ledger: the anchor names unknown contexts {unknown}", file=sys.stderr)
        return EXIT_USAGE
    reports = verify_chains(container.sources, container.read_engine, anchors)
    snapshots = verify_snapshots(container.applications)
    ok = all(report.ok for report in reports) and all(report.ok for report in snapshots)
    if as_json:
        document = {
            "ok": ok,
            "contexts": [report.to_json() for report in reports],
            "snapshots": [report.to_json() for report in snapshots],
        }
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        for report in reports:
            print(report.describe(), file=sys.stdout if report.ok else sys.stderr)
        for snapshot_report in snapshots:
            for line in snapshot_report.describe():
                print(line, file=sys.stdout if snapshot_report.ok else sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


def _head(container: Container) -> int:
    chainer = Projector(
        container.read_engine,
        container.sources,
        projections=[],
        batch_size=container.settings.projections.batch_size,
        chain=True,
    )
    chainer.catch_up()
    heads = chain_heads(container.read_engine, [s.name for s in container.sources])
    print(json.dumps(heads_document(heads, datetime.now(UTC)), indent=2))
    return EXIT_OK
