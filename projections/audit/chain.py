"""Tamper evidence: a hash chain over each bounded context's event log, in notification order.

Every recorded event gets a link::

    event_hash = sha256(FIELDS_TAG, notification id, originator id, originator version,
                        topic, state bytes as stored)
    chain_hash = sha256(previous chain_hash, event_hash)

where each value is length-prefixed (8-byte big-endian length, then the bytes; integers as
ASCII decimals, hashes as their 32 raw bytes), so no two different field tuples encode alike.
The first link's previous hash is :func:`genesis` of the context. The chain hash of a link
therefore commits to every event recorded before it, byte for byte: the state is hashed as
the recorder returns it, never re-encoded from a decoded domain event.

The links are kept in the append-only ``audit_chain`` table of the read-model database,
extended by :class:`ChainFollower`, which the projector runs beside the projections (link
rows and tracking position in one transaction). ``chain_verify`` recomputes the chain from
the raw log and compares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification
from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, Text, select

from projections.base import Projection, ProjectionError, insert_rows
from projections.events import Envelope
from projections.tables import UtcDateTime

FIELDS_TAG = b"backoffice-ledger:event:v1"
"""Names the field layout of :func:`event_hash`; a new layout gets a new tag."""

chain_metadata = MetaData()
"""The chain's own metadata: not a read model (never reset, never replayed)."""

audit_chain = Table(
    "audit_chain",
    chain_metadata,
    Column("context", String(64), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # notification id
    # what the event was, kept so that a deleted event can still be named
    Column("originator_id", String(255), nullable=False),
    Column("originator_version", BigInteger, nullable=False),
    Column("topic", Text, nullable=False),
    Column("event_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),  # the event's own timestamp
)


@dataclass(frozen=True, slots=True)
class Link:
    """One event's link in its context's chain."""

    context: str
    position: int
    originator_id: str
    originator_version: int
    topic: str
    event_hash: str
    chain_hash: str


def genesis(context: str) -> str:
    """The fixed "previous hash" of a context's first link."""
    return hashlib.sha256(b"backoffice-ledger:" + context.encode()).hexdigest()


def _framed(value: bytes) -> bytes:
    return len(value).to_bytes(8, "big") + value


def event_hash(notification: Notification) -> str:
    """sha256 over the event's identity and its state exactly as stored."""
    digest = hashlib.sha256(_framed(FIELDS_TAG))
    for part in (
        str(notification.id).encode(),
        str(notification.originator_id).encode(),
        str(notification.originator_version).encode(),
        notification.topic.encode(),
        bytes(notification.state),
    ):
        digest.update(_framed(part))
    return digest.hexdigest()


def chain_hash(previous: str, event: str) -> str:
    """The link hash: sha256 over the previous link hash and this event's hash."""
    return hashlib.sha256(
        _framed(bytes.fromhex(previous)) + _framed(bytes.fromhex(event))
    ).hexdigest()


def make_link(context: str, notification: Notification, previous: str) -> Link:
    """``notification``'s link, following the link whose chain hash is ``previous``."""
    hashed = event_hash(notification)
    return Link(
        context=context,
        position=notification.id,
        originator_id=str(notification.originator_id),
        originator_version=int(notification.originator_version),
        topic=notification.topic,
        event_hash=hashed,
        chain_hash=chain_hash(previous, hashed),
    )


def link_row(link: Link, recorded_at: datetime) -> dict[str, Any]:
    return {
        "context": link.context,
        "position": link.position,
        "originator_id": link.originator_id,
        "originator_version": link.originator_version,
        "topic": link.topic,
        "event_hash": link.event_hash,
        "chain_hash": link.chain_hash,
        "recorded_at": recorded_at,
    }


def last_link(conn: Connection, context: str) -> tuple[int, str]:
    """Position and chain hash of ``context``'s last stored link; ``(0, genesis)`` if none."""
    row = conn.execute(
        select(audit_chain.c.position, audit_chain.c.chain_hash)
        .where(audit_chain.c.context == context)
        .order_by(audit_chain.c.position.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, genesis(context)
    return int(row.position), str(row.chain_hash)


def _last_recorded(conn: Connection, context: str) -> datetime | None:
    value = conn.execute(
        select(audit_chain.c.recorded_at)
        .where(audit_chain.c.context == context)
        .order_by(audit_chain.c.position.desc())
        .limit(1)
    ).scalar()
    return value if isinstance(value, datetime) else None


class ChainFollower(Projection):
    """Extends the stored chain with each batch, inside the projector's transaction.

    Not a read model: it is not in the projector's registry, cannot be reset or rebuilt in
    place (the table refuses DELETE), and sees every event (no replay filter), also one that
    cannot be decoded: it hashes the stored row, so no content can make it fail, and it is
    never quarantined.
    """

    name = "chain"
    tables = (audit_chain,)
    quarantinable = False  # it must cover every event: nothing in it depends on content
    reads_raw = True

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        context = envelopes[0].context
        position, previous = last_link(conn, context)
        rows: list[dict[str, Any]] = []
        recorded: datetime | None = None  # of the previous link, for an unreadable event
        for envelope in envelopes:
            notification = envelope.notification
            if notification is None or envelope.context != context:
                raise ProjectionError(
                    self.name, envelope, ValueError("the chain needs the raw stored event")
                )
            if envelope.position <= position:
                raise ProjectionError(
                    self.name,
                    envelope,
                    ValueError(f"{context} is already chained up to #{position}"),
                )
            link = make_link(context, notification, previous)
            if envelope.readable:
                recorded = envelope.recorded_at
            else:
                # Its timestamp is inside the state that could not be decoded: the link
                # hashes the stored bytes all the same and takes its predecessor's time.
                recorded = recorded or _last_recorded(conn, context) or datetime.now(UTC)
            rows.append(link_row(link, recorded))
            position, previous = link.position, link.chain_hash
        insert_rows(conn, audit_chain, rows)

    def reset(self, conn: Connection) -> None:
        raise ProjectionError(
            self.name,
            None,
            RuntimeError(
                "the audit chain is append-only and is never rebuilt in place; "
                "`ledger audit verify` recomputes it from the event log"
            ),
        )
