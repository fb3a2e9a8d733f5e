"""Checking the audit chain: recompute every context's chain from the raw event log and
compare it, link by link, with the stored chain (and with anchored heads).

Notification ids may have gaps that are not tampering (PostgreSQL spends a sequence value on
a rolled-back insert), so a missing id is an error only where the stored chain has a link:

* a stored link whose event is no longer in the log: the event was deleted ("gap");
* an event whose hash differs from its link's event hash: the stored event was altered;
* an event without a link below the chain head: inserted after chaining (or its link deleted);
* a link whose chain hash is not the recomputed one: the stored chain was altered;
* an anchored head that is not a link of both chains: events and chain were rewritten.

Events after the stored head are the "unchained tail": the projector has not chained them
yet. They are hashed too (the recomputed head covers them) but are not an error.

The walk reads both sides in pages, bounded by the stored head read first, so a projector
extending the chain meanwhile cannot make a link appear without its event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Notification
from sqlalchemy import Engine, func, select

from projections.audit.chain import Link, audit_chain, genesis, make_link
from projections.events import as_utc
from projections.runner.sources import EventSource

PAGE = 1000


@dataclass(frozen=True, slots=True)
class Anchor:
    """A chain head recorded outside the system (``ledger audit head``)."""

    context: str
    position: int
    chain_hash: str


@dataclass(frozen=True, slots=True)
class Head:
    """The last stored link of a context (position 0 and the genesis hash when empty)."""

    context: str
    position: int
    chain_hash: str
    recorded_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "position": self.position,
            "chain_hash": self.chain_hash,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
        }


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link of a context: what, where, and expected vs found hash."""

    kind: str  # "gap" | "altered" | "unchained" | "chain" | "anchor"
    context: str
    position: int
    originator_id: str
    originator_version: int | None
    topic: str
    expected: str
    found: str
    detail: str

    def describe(self) -> str:
        version = "?" if self.originator_version is None else str(self.originator_version)
        return (
            f"{self.context}: BROKEN at #{self.position} ({self.kind}): {self.detail}; "
            f"originator {self.originator_id or '?'} v{version} topic {self.topic or '?'}; "
            f"expected {self.expected}, found {self.found}"
        )


@dataclass(frozen=True, slots=True)
class Report:
    """The verification of one context's chain."""

    context: str
    events: int  # events read from the log
    chained: int  # links in the stored chain
    head: int  # position of the stored head (0: empty chain)
    head_hash: str
    tail: int  # events after the stored head, hashed but not yet chained
    recomputed_hash: str  # the recomputed chain hash over every event read
    anchored: int | None  # the anchored position that was checked, if any
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def describe(self) -> str:
        if self.broken is not None:
            return self.broken.describe()
        anchored = f"; anchor #{self.anchored} confirmed" if self.anchored is not None else ""
        return (
            f"{self.context}: intact; {self.events} events, {self.chained} chained "
            f"(head #{self.head} {self.head_hash[:16]}), {self.tail} in the unchained tail "
            f"(verified by recomputation){anchored}"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def chain_heads(engine: Engine, contexts: Sequence[str]) -> list[Head]:
    """The stored chain head of each of ``contexts``."""
    heads = []
    with engine.connect() as conn:
        for context in contexts:
            row = conn.execute(
                select(audit_chain.c.position, audit_chain.c.chain_hash, audit_chain.c.recorded_at)
                .where(audit_chain.c.context == context)
                .order_by(audit_chain.c.position.desc())
                .limit(1)
            ).first()
            if row is None:
                heads.append(Head(context, 0, genesis(context), None))
            else:
                heads.append(
                    Head(context, int(row.position), str(row.chain_hash), as_utc(row.recorded_at))
                )
    return heads


def verify_chains(
    sources: Sequence[EventSource],
    engine: Engine,
    anchors: Mapping[str, Anchor] | None = None,
    page: int = PAGE,
) -> list[Report]:
    """Verify every source's chain (and its anchor, if one is given)."""
    anchors = anchors or {}
    return [verify_chain(s, engine, anchors.get(s.name), page) for s in sources]


def verify_chain(
    source: EventSource, engine: Engine, anchor: Anchor | None = None, page: int = PAGE
) -> Report:
    """Recompute ``source``'s chain from its raw log and compare it with the stored links."""
    context = source.name
    with engine.connect() as conn:
        head = conn.execute(
            select(func.max(audit_chain.c.position)).where(audit_chain.c.context == context)
        ).scalar_one()
    bound = int(head or 0)
    walk = _Walk(context, anchor)
    broken = walk.run(_events(source, page), _stored(engine, context, bound, page))
    if broken is None and anchor is not None and anchor.position > 0 and not walk.anchor_seen:
        broken = Break(
            "anchor",
            context,
            anchor.position,
            "",
            None,
            "",
            anchor.chain_hash,
            "(no such link)",
            "the anchored head is not a link of the stored and recomputed chains",
        )
    return Report(
        context=context,
        events=walk.events,
        chained=walk.chained,
        head=walk.head,
        head_hash=walk.head_hash,
        tail=walk.tail,
        recomputed_hash=walk.previous,
        anchored=anchor.position if anchor is not None and broken is None else None,
        broken=broken,
    )


class _Walk:
    """Merges the log and the stored chain by position, recomputing as it goes."""

    def __init__(self, context: str, anchor: Anchor | None) -> None:
        self.context = context
        self.anchor = anchor
        self.anchor_seen = False
        self.previous = genesis(context)
        self.events = 0
        self.chained = 0
        self.tail = 0
        self.head = 0
        self.head_hash = genesis(context)

    def run(self, events: Iterator[Notification], stored: Iterator[Link]) -> Break | None:
        event = next(events, None)
        link = next(stored, None)
        while event is not None or link is not None:
            if link is not None and (event is None or link.position < event.id):
                return self._break(
                    "gap",
                    link,
                    link.event_hash,
                    "(no event)",
                    "the chained event is missing from the log (deleted)",
                )
            assert event is not None
            recomputed = make_link(self.context, event, self.previous)
            self.events += 1
            if link is None:
                self.tail += 1
            elif event.id < link.position:
                return self._break(
                    "unchained",
                    recomputed,
                    "(no link)",
                    recomputed.event_hash,
                    "an event below the chain head has no link "
                    "(inserted after chaining, or its link was deleted)",
                )
            else:
                found = self._compare(recomputed, link)
                if found is not None:
                    return found
                self.chained += 1
                self.head, self.head_hash = link.position, link.chain_hash
                link = next(stored, None)
            self.previous = recomputed.chain_hash
            anchored = self._check_anchor(recomputed)
            if anchored is not None:
                return anchored
            event = next(events, None)
        return None

    def _compare(self, recomputed: Link, link: Link) -> Break | None:
        if recomputed.event_hash != link.event_hash:
            return self._break(
                "altered",
                recomputed,
                link.event_hash,
                recomputed.event_hash,
                "the stored event differs from the event that was chained",
            )
        described = (link.originator_id, link.originator_version, link.topic)
        if described != (recomputed.originator_id, recomputed.originator_version, recomputed.topic):
            return self._break(
                "chain",
                link,
                f"{recomputed.originator_id} v{recomputed.originator_version} {recomputed.topic}",
                f"{link.originator_id} v{link.originator_version} {link.topic}",
                "the stored link describes another event (the stored chain was altered)",
            )
        if recomputed.chain_hash != link.chain_hash:
            return self._break(
                "chain",
                recomputed,
                recomputed.chain_hash,
                link.chain_hash,
                "the stored chain hash is not the recomputed one (the stored chain was altered)",
            )
        return None

    def _check_anchor(self, recomputed: Link) -> Break | None:
        anchor = self.anchor
        if anchor is None or recomputed.position != anchor.position:
            return None
        self.anchor_seen = True
        stored = self.head_hash if self.head == anchor.position else None
        if recomputed.chain_hash == anchor.chain_hash and stored == anchor.chain_hash:
            return None
        found = recomputed.chain_hash if stored is None else stored
        return self._break(
            "anchor",
            recomputed,
            anchor.chain_hash,
            found,
            "the anchored link is missing from the stored chain"
            if stored is None
            else "the anchored head differs from this link (events and chain were rewritten)",
        )

    def _break(self, kind: str, link: Link, expected: str, found: str, detail: str) -> Break:
        return Break(
            kind,
            self.context,
            link.position,
            link.originator_id,
            link.originator_version,
            link.topic,
            expected,
            found,
            detail,
        )


def _events(source: EventSource, page: int) -> Iterator[Notification]:
    after = 0
    while True:
        batch = source.notifications(after, page)
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].id


def _stored(engine: Engine, context: str, bound: int, page: int) -> Iterator[Link]:
    after = 0
    c = audit_chain.c
    while after < bound:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    c.position,
                    c.originator_id,
                    c.originator_version,
                    c.topic,
                    c.event_hash,
                    c.chain_hash,
                )
                .where(c.context == context, c.position > after, c.position <= bound)
                .order_by(c.position)
                .limit(page)
            ).all()
        for row in rows:
            yield Link(
                context,
                int(row.position),
                str(row.originator_id),
                int(row.originator_version),
                str(row.topic),
                str(row.event_hash),
                str(row.chain_hash),
            )
        if len(rows) < page:
            return
        after = int(rows[-1].position)


HEAD_FORMAT = "backoffice-ledger/audit-head/v1"


def heads_document(heads: Sequence[Head], taken_at: datetime) -> dict[str, Any]:
    """What ``ledger audit head`` prints: the chain heads, to anchor outside the system."""
    return {
        "format": HEAD_FORMAT,
        "taken_at": as_utc(taken_at).isoformat(),
        "heads": [head.to_json() for head in heads],
    }


def parse_anchors(document: Any) -> dict[str, Anchor]:
    """The anchors of a :func:`heads_document`; ``ValueError`` when it is not one."""
    if not isinstance(document, Mapping) or document.get("format") != HEAD_FORMAT:
        raise ValueError(f"not an audit head document (format {HEAD_FORMAT!r} expected)")
    heads = document.get("heads")
    if not isinstance(heads, list):
        raise ValueError("the audit head document has no list of heads")
    anchors: dict[str, Anchor] = {}
    for head in heads:
        try:
            anchor = Anchor(str(head["context"]), int(head["position"]), str(head["chain_hash"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"bad head {head!r}: {error}") from None
        if len(anchor.chain_hash) != 64 or anchor.position < 0:
            raise ValueError(f"bad head {head!r}")
        anchors[anchor.context] = anchor
    return anchors
