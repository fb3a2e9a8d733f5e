"""The ``audit`` projection: every event of every context, as recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from projections.base import Projection, ProjectionError, insert_rows
from projections.events import Envelope
from projections.tables import rm_audit_events


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
