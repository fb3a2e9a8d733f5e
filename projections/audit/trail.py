"""The ``audit`` projection: every event of every context, as recorded, in ``rm_audit_events``
(read by :class:`projections.audit.queries.AuditQueries`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, Integer, String, Table

from projections.base import Projection, ProjectionError, insert_rows
from projections.events import Envelope
from projections.tables import JsonDoc, UtcDateTime, metadata

rm_audit_events = Table(
    "rm_audit_events",
    metadata,
    Column("context", String(64), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    # other contexts may use ids, names and principals of any length
    Column("stream_id", String(255), nullable=False),
    Column("stream_type", String(255), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("correlation_id", String(255), nullable=False),
    Column("channel", String(255), nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Index("ix_rm_audit_events_time", "recorded_at", "context", "position"),
    Index("ix_rm_audit_events_stream", "stream_id", "recorded_at", "context", "position"),
    Index("ix_rm_audit_events_correlation", "correlation_id"),
)


class AuditProjection(Projection):
    name = "audit"
    tables = (rm_audit_events,)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        rows: list[dict[str, Any]] = []
        for envelope in envelopes:
            try:
                rows.append(audit_row(envelope))
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        if rows:
            insert_rows(conn, rm_audit_events, rows)


def audit_row(envelope: Envelope) -> dict[str, Any]:
    event = envelope.event
    return {
        "context": envelope.context,
        "position": envelope.position,
        "stream_id": envelope.stream_id,
        "stream_type": envelope.stream_type,
        "event_type": envelope.event_type,
        "version": envelope.version,
        "recorded_at": envelope.recorded_at,
        "actor": str(getattr(event, "actor", "") or ""),
        "correlation_id": str(getattr(event, "correlation_id", "") or ""),
        "channel": str(getattr(event, "via_channel", "") or ""),
        "payload": envelope.payload(),
    }
