"""The audit trail's query: every recorded event of every context (``rm_audit_events``),
oldest first, keyset paginated, optionally of one stream, a time range and the contexts the
reader may read."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from projections import cursors
from projections.audit.trail import rm_audit_events
from projections.events import as_utc
from projections.paging import clamp, fetch_page
from projections.views import Page

_AU = rm_audit_events


@dataclass(frozen=True)
class AuditEventView:
    context: str  # bounded context (application name), e.g. "ledger"
    position: int  # notification id in that context's log
    stream_id: str  # aggregate id
    stream_type: str  # aggregate class name, e.g. "Account"
    event_type: str  # e.g. "Account.Debited"
    version: int
    recorded_at: datetime
    actor: str
    correlation_id: str
    channel: str
    payload: dict[str, Any]


class AuditQueries:
    """Reads of the audit trail; every method opens and closes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def audit_trail(
        self,
        stream_id: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        first: int = 50,
        after: str | None = None,
        contexts: Collection[str] | None = None,
    ) -> Page[AuditEventView]:
        """Every recorded event, oldest first, ordered by (recorded-at, context, position);
        only those of ``contexts`` when given (the contexts the reader may read)."""
        limit = clamp(first)
        query = select(_AU)
        if contexts is not None:
            query = query.where(_AU.c.context.in_(sorted(contexts)))
        if stream_id is not None:
            query = query.where(_AU.c.stream_id == str(stream_id))
        if from_ is not None:
            query = query.where(_AU.c.recorded_at >= as_utc(from_))
        if to is not None:
            query = query.where(_AU.c.recorded_at <= as_utc(to))
        if after is not None:
            at, context, position = cursors.decode(after, "audit", datetime, str, int)
            query = query.where(
                _AU.c.recorded_at >= at,
                or_(
                    _AU.c.recorded_at > at,
                    _AU.c.context > context,
                    and_(_AU.c.context == context, _AU.c.position > position),
                ),
            )
        return fetch_page(
            self.engine,
            query.order_by(_AU.c.recorded_at, _AU.c.context, _AU.c.position),
            limit,
            _audit_view,
            lambda view: cursors.encode("audit", view.recorded_at, view.context, view.position),
        )


def _audit_view(row: Mapping[Any, Any]) -> AuditEventView:
    return AuditEventView(
        context=row["context"],
        position=int(row["position"]),
        stream_id=row["stream_id"],
        stream_type=row["stream_type"],
        event_type=row["event_type"],
        version=row["version"],
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        correlation_id=row["correlation_id"],
        channel=row["channel"],
        payload=dict(row["payload"]),
    )
