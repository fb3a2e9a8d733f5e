"""The ``vop_checks`` projection: every recorded Verification of Payee check, for compliance.

``rm_vop_checks`` holds one row per ``VopCheck.Answered`` event of the vop context: who asked
(direction, the requesting PSP's BIC, its request id and the entry), when (the PSP's
timestamp, our receipt, the recording), what (IBAN, the payer-provided name or identifier),
the answer (outcome, NOAP reason, disclosed name, score, rule), the latency and the principal
the event names. A check is never changed, so a row is inserted once and never updated; a
rebuild writes the same rows. The queries (newest first, keyset pages, filters by IBAN,
requester, outcome, direction and recording time) are :class:`VopCheckQueries`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
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

from domain.vop.checks import VopCheck
from projections import cursors
from projections.base import Projection, insert_rows
from projections.events import Envelope, as_utc
from projections.paging import before, fetch_page
from projections.tables import ID, JsonDoc, UtcDateTime, metadata
from projections.views import Page

rm_vop_checks = Table(
    "rm_vop_checks",
    metadata,
    Column("check_id", ID, primary_key=True),
    Column("direction", String(16), nullable=False),  # RESPONDER | REQUESTER
    # the requesting PSP's BIC (RESPONDER), the calling principal (REQUESTER; revision 0006)
    Column("requester", String(128), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("entry", Integer, nullable=False),
    Column("iban", String(34), nullable=False),
    Column("requested_name", Text),  # the payer-provided name (personal data)
    Column("requested_identifier", JsonDoc),  # {"scheme": "LEI", "value": "..."}
    Column("outcome", String(4), nullable=False),  # MTCH | CMTC | NMTC | NOAP
    Column("reason", String(32)),
    Column("disclosed_name", Text),
    Column("score", String(16), nullable=False),
    Column("rule", String(32)),
    Column("latency_us", BigInteger, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("payer_iban", String(34)),  # requester checks: the payer's account (revision 0006)
    Index("ix_rm_vop_checks_recorded", "recorded_at", "check_id"),
    Index("ix_rm_vop_checks_iban", "iban", "recorded_at", "check_id"),
    Index("ix_rm_vop_checks_requester", "requester", "recorded_at", "check_id"),
    Index("ix_rm_vop_checks_outcome", "outcome", "recorded_at", "check_id"),
)


class VopChecksProjection(Projection):
    name = "vop_checks"
    tables = (rm_vop_checks,)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        rows = [
            _row(e)
            for e in envelopes
            if isinstance(e.event, VopCheck.Event) and e.kind == "Answered"
        ]
        if rows:
            insert_rows(conn, rm_vop_checks, rows)


def _row(envelope: Envelope) -> dict[str, Any]:
    event = envelope.event
    identifier = event.requested_identifier
    return {
        "check_id": envelope.stream_id,
        "direction": str(event.direction),
        "requester": str(event.requester),
        "request_id": str(event.request_id),
        "entry": int(event.entry),
        "iban": str(event.iban),
        "requested_name": event.requested_name,
        "requested_identifier": dict(identifier) if identifier is not None else None,
        "outcome": str(event.outcome),
        "reason": event.reason,
        "disclosed_name": event.disclosed_name,
        "score": f"{float(event.score):.1f}",
        "rule": event.rule,
        "latency_us": int(event.latency_us),
        "requested_at": as_utc(event.requested_at),
        "received_at": as_utc(event.received_at),
        "recorded_at": envelope.recorded_at,
        "actor": str(getattr(event, "actor", "")),
        "payer_iban": getattr(event, "payer_iban", None),
    }


@dataclass(frozen=True, slots=True)
class VopCheckView:
    id: str
    direction: str
    requester: str
    request_id: str
    entry: int
    iban: str
    requested_name: str | None
    requested_identifier: dict[str, str] | None
    outcome: str
    reason: str | None
    disclosed_name: str | None
    score: str
    rule: str | None
    latency_us: int
    requested_at: datetime
    received_at: datetime
    recorded_at: datetime
    actor: str
    payer_iban: str | None = None


@dataclass(frozen=True, slots=True)
class VopCheckFilter:
    """All given conditions hold (None: any)."""

    iban: str | None = None
    requester: str | None = None
    outcome: str | None = None
    direction: str | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None


def _view(row: Mapping[Any, Any]) -> VopCheckView:
    identifier = row["requested_identifier"]
    return VopCheckView(
        id=row["check_id"],
        direction=row["direction"],
        requester=row["requester"],
        request_id=row["request_id"],
        entry=row["entry"],
        iban=row["iban"],
        requested_name=row["requested_name"],
        requested_identifier=dict(identifier) if identifier is not None else None,
        outcome=row["outcome"],
        reason=row["reason"],
        disclosed_name=row["disclosed_name"],
        score=row["score"],
        rule=row["rule"],
        latency_us=row["latency_us"],
        requested_at=row["requested_at"],
        received_at=row["received_at"],
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        payer_iban=row["payer_iban"],
    )


_C = rm_vop_checks


class VopCheckQueries:
    """The recorded checks, newest first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(self, check_id: str) -> VopCheckView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_C).where(_C.c.check_id == check_id)).mappings().first()
        return _view(row) if row is not None else None

    def checks(self, wanted: VopCheckFilter, limit: int, after: str | None) -> Page[VopCheckView]:
        conditions: list[ColumnElement[bool]] = []
        for column, value in (
            (_C.c.iban, wanted.iban),
            (_C.c.requester, wanted.requester),
            (_C.c.outcome, wanted.outcome),
            (_C.c.direction, wanted.direction),
        ):
            if value is not None:
                conditions.append(column == value)
        if wanted.recorded_from is not None:
            conditions.append(_C.c.recorded_at >= as_utc(wanted.recorded_from))
        if wanted.recorded_to is not None:
            conditions.append(_C.c.recorded_at <= as_utc(wanted.recorded_to))
        if after is not None:
            at, last_id = cursors.decode(after, "vop-check", datetime, str)
            conditions.append(before(_C.c.recorded_at, _C.c.check_id, as_utc(at), last_id))
        query = (
            select(_C)
            .where(and_(True, *conditions))
            .order_by(_C.c.recorded_at.desc(), _C.c.check_id.desc())
        )
        return fetch_page(
            self.engine,
            query,
            limit,
            _view,
            lambda view: cursors.encode("vop-check", view.recorded_at, view.id),
        )
