"""The ``notifications`` projection: the delivery audit.

* ``rm_notification_deliveries``: one row per delivery: rule, channel, the masked target,
  the source event, status (PENDING, DELIVERED, GAVE_UP), attempts, the last error and
  when the next attempt is due. The sender finds due deliveries here (``status``,
  ``next_attempt_at``), a bounded page at a time.
* ``rm_notification_attempts``: every attempt of every delivery: when, how it went, the
  status or error text (truncated, IBANs masked) and when the next one was due.

Rows come from the Delivery events only (their arguments carry every time), so a rebuild
writes exactly the rows incremental processing wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from domain.notifications.deliveries import Delivery
from projections import cursors
from projections.base import Projection, ProjectionError, chunked, insert_rows, update_by_key
from projections.events import Envelope, as_utc
from projections.paging import before, fetch_page
from projections.tables import ID, JsonDoc, UtcDateTime, metadata
from projections.views import Page

rm_notification_deliveries = Table(
    "rm_notification_deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("target", Text, nullable=False),  # masked
    Column("status", String(16), nullable=False),  # PENDING | DELIVERED | GAVE_UP
    Column("source_context", String(64), nullable=False),
    Column("source_position", BigInteger, nullable=False),
    Column("source_event_id", String(255), nullable=False),
    Column("source_event_type", String(128), nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_outcome", String(16)),
    Column("last_error", Text),
    Column("gave_up_reason", Text),
    Column("scheduled_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_rm_notification_deliveries_due", "status", "next_attempt_at", "id"),
    Index("ix_rm_notification_deliveries_scheduled", "scheduled_at", "id"),
    Index("ix_rm_notification_deliveries_rule", "rule", "scheduled_at", "id"),
)

rm_notification_attempts = Table(
    "rm_notification_attempts",
    metadata,
    Column("delivery_id", ID, primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("next_attempt_at", UtcDateTime),
)

DELIVERY_STATUSES = ("PENDING", "DELIVERED", "GAVE_UP")


class NotificationsProjection(Projection):
    name = "notifications"
    tables = (rm_notification_deliveries, rm_notification_attempts)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        relevant = [e for e in envelopes if isinstance(e.event, Delivery.Event)]
        if not relevant:
            return
        ids = sorted({e.stream_id for e in relevant})
        rows: dict[str, dict[str, Any]] = {}
        table = rm_notification_deliveries
        for chunk in chunked(ids):
            for row in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
                rows[row["id"]] = dict(row)
        existing = set(rows)
        attempts: list[dict[str, Any]] = []
        for envelope in relevant:
            try:
                _apply(rows, attempts, envelope)
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        insert_rows(conn, table, [row for key, row in rows.items() if key not in existing])
        update_by_key(conn, table, "id", [rows[key] for key in existing])
        insert_rows(conn, rm_notification_attempts, attempts)


def _apply(
    rows: dict[str, dict[str, Any]], attempts: list[dict[str, Any]], envelope: Envelope
) -> None:
    event: Any = envelope.event
    kind = envelope.kind
    key = envelope.stream_id
    at = envelope.recorded_at
    if kind == "Scheduled":
        scheduled = as_utc(event.scheduled_at)
        rows[key] = {
            "id": key,
            "rule": event.rule,
            "channel": event.channel,
            "target": event.target,
            "status": "PENDING",
            "source_context": event.source_context,
            "source_position": int(event.source_position),
            "source_event_id": event.source_event_id,
            "source_event_type": event.source_event_type,
            "payload": dict(event.payload),
            "attempts": 0,
            "last_outcome": None,
            "last_error": None,
            "gave_up_reason": None,
            "scheduled_at": scheduled,
            "next_attempt_at": scheduled,
            "last_attempt_at": None,
            "delivered_at": None,
            "updated_at": at,
        }
        return
    row = rows[key]
    row["updated_at"] = at
    if kind == "Attempted":
        when = as_utc(event.at)
        following = as_utc(event.next_attempt_at) if event.next_attempt_at is not None else None
        row.update(
            attempts=int(event.attempt),
            last_outcome=event.outcome,
            last_error=None if event.outcome == "DELIVERED" else event.detail,
            last_attempt_at=when,
            next_attempt_at=following,
        )
        attempts.append(
            {
                "delivery_id": key,
                "attempt": int(event.attempt),
                "at": when,
                "outcome": event.outcome,
                "detail": event.detail,
                "next_attempt_at": following,
            }
        )
    elif kind == "Delivered":
        row.update(status="DELIVERED", delivered_at=as_utc(event.at), next_attempt_at=None)
    elif kind == "GaveUp":
        row.update(status="GAVE_UP", gave_up_reason=event.reason, next_attempt_at=None)


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class AttemptView:
    attempt: int
    at: datetime
    outcome: str
    detail: str
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class DeliveryView:
    id: str
    rule: str
    channel: str
    target: str
    status: str
    source_context: str
    source_position: int
    source_event_id: str
    source_event_type: str
    payload: dict[str, Any]
    attempts: int
    last_outcome: str | None
    last_error: str | None
    gave_up_reason: str | None
    scheduled_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime
    attempt_list: list[AttemptView] = field(default_factory=list)


class NotificationQueries:
    """Reads of the delivery audit (never the event store); also the sender's due list."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def deliveries(
        self, status: str | None, rule: str | None, limit: int, after: str | None
    ) -> Page[DeliveryView]:
        """Deliveries newest first (by scheduling time), optionally of one status or rule."""
        table = rm_notification_deliveries
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(table.c.status == status)
        if rule is not None:
            conditions.append(table.c.rule == rule)
        if after is not None:
            at, last_id = cursors.decode(after, "notification-delivery", datetime, str)
            conditions.append(before(table.c.scheduled_at, table.c.id, as_utc(at), last_id))
        query = select(table).order_by(table.c.scheduled_at.desc(), table.c.id.desc())
        if conditions:
            query = query.where(and_(*conditions))
        return fetch_page(self.engine, query, limit, _view, _cursor)

    def delivery(self, delivery_id: str) -> DeliveryView | None:
        """One delivery with its attempts, in order."""
        table = rm_notification_deliveries
        attempts = rm_notification_attempts
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.id == delivery_id)).mappings().first()
            if row is None:
                return None
            tried = (
                conn.execute(
                    select(attempts)
                    .where(attempts.c.delivery_id == delivery_id)
                    .order_by(attempts.c.attempt)
                )
                .mappings()
                .all()
            )
        return dataclasses.replace(_view(row), attempt_list=[_attempt(a) for a in tried])

    def due(self, now: datetime, limit: int) -> list[UUID]:
        """Pending deliveries whose next attempt is at or before ``now``, oldest due first."""
        table = rm_notification_deliveries
        query = (
            select(table.c.id)
            .where(table.c.status == "PENDING", table.c.next_attempt_at <= now)
            .order_by(table.c.next_attempt_at, table.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [UUID(row.id) for row in conn.execute(query)]


def _cursor(view: DeliveryView) -> str:
    return cursors.encode("notification-delivery", view.scheduled_at, view.id)


def _optional(value: Any) -> datetime | None:
    return as_utc(value) if value is not None else None


def _view(row: Mapping[Any, Any]) -> DeliveryView:
    return DeliveryView(
        id=row["id"],
        rule=row["rule"],
        channel=row["channel"],
        target=row["target"],
        status=row["status"],
        source_context=row["source_context"],
        source_position=int(row["source_position"]),
        source_event_id=row["source_event_id"],
        source_event_type=row["source_event_type"],
        payload=dict(row["payload"] or {}),
        attempts=int(row["attempts"]),
        last_outcome=row["last_outcome"],
        last_error=row["last_error"],
        gave_up_reason=row["gave_up_reason"],
        scheduled_at=as_utc(row["scheduled_at"]),
        next_attempt_at=_optional(row["next_attempt_at"]),
        last_attempt_at=_optional(row["last_attempt_at"]),
        delivered_at=_optional(row["delivered_at"]),
        updated_at=as_utc(row["updated_at"]),
    )


def _attempt(row: Mapping[Any, Any]) -> AttemptView:
    return AttemptView(
        attempt=int(row["attempt"]),
        at=as_utc(row["at"]),
        outcome=row["outcome"],
        detail=row["detail"],
        next_attempt_at=_optional(row["next_attempt_at"]),
    )
