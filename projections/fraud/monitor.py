"""The ``fraud_monitor`` projection: every model-scored payment, by time, for monitoring.

``rm_fraud_scores`` keeps one row per ``Screened`` event that a model scored or a
challenger scored in shadow: when, through which channel (the payment's, from the ledger's
transactions read model through :class:`TransactionChannels`), the decision, the promoted
model's score and version, the feature values it saw, and the challenger's version, score
and the outcome it would have given (or why it did not score). It is indexed by time, so the
drift report and metrics (``ledger fraud monitor``), the champion/challenger comparison
(``ledger fraud compare``) and the capacity thresholds read a recent window without
scanning the whole history. Its queries are :class:`MonitorQueries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Column, Connection, Engine, Index, String, Table, Text, func, select

from domain.ledger.transactions import Transaction
from projections.base import Projection, ProjectionError, insert_rows
from projections.events import Envelope, as_utc
from projections.tables import ID, JsonDoc, UtcDateTime, metadata

MAX_ROWS = 1_000_000
"""Most rows one monitoring query reads (a bounded cost: the newest of a longer window)."""

rm_fraud_scores = Table(
    "rm_fraud_scores",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("screened_at", UtcDateTime, nullable=False),
    Column("channel", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("score", String(64)),
    Column("model_version", String(128)),
    Column("features", JsonDoc),
    Column("challenger_version", String(128)),
    Column("challenger_score", String(64)),
    Column("challenger_outcome", String(16)),
    Column("challenger_error", Text),
    Index("ix_rm_fraud_scores_time", "screened_at", "transaction_id"),
)


class TransactionChannels(Protocol):
    """The channel of each of ``transaction_ids`` as projected so far in ``conn``'s
    transaction (unknown ones left out)."""

    def __call__(self, conn: Connection, transaction_ids: Sequence[str], /) -> dict[str, str]: ...


class FraudMonitorProjection(Projection):
    name = "fraud_monitor"
    tables = (rm_fraud_scores,)

    def __init__(self, channels: TransactionChannels) -> None:
        self.channels = channels

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        scored = [e for e in envelopes if _scored(e)]
        if not scored:
            return
        channels = self.channels(conn, sorted({e.stream_id for e in scored}))
        rows: list[dict[str, Any]] = []
        for envelope in scored:
            try:
                rows.append(_row(envelope, channels.get(envelope.stream_id, "")))
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        insert_rows(conn, rm_fraud_scores, rows)


def _scored(envelope: Envelope) -> bool:
    if not isinstance(envelope.event, Transaction.Event) or envelope.kind != "Screened":
        return False
    event: Any = envelope.event
    return event.score is not None or getattr(event, "challenger", None) is not None


def _row(envelope: Envelope, channel: str) -> dict[str, Any]:
    event: Any = envelope.event
    challenger = getattr(event, "challenger", None) or {}
    return {
        "transaction_id": envelope.stream_id,
        "screened_at": envelope.recorded_at,
        "channel": channel[:64],
        "outcome": str(event.outcome),
        "score": None if event.score is None else format(event.score, "f"),
        "model_version": event.model_version,
        "features": getattr(event, "features", None),
        "challenger_version": challenger.get("version"),
        "challenger_score": challenger.get("score"),
        "challenger_outcome": challenger.get("outcome"),
        "challenger_error": challenger.get("error"),
    }


@dataclass(frozen=True)
class ScoredPayment:
    """One row of ``rm_fraud_scores``."""

    transaction_id: str
    screened_at: datetime
    channel: str
    outcome: str
    score: str | None
    model_version: str | None
    features: dict[str, str] | None
    challenger_version: str | None
    challenger_score: str | None
    challenger_outcome: str | None
    challenger_error: str | None


class MonitorQueries:
    """Reads of ``rm_fraud_scores`` (never the event store)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def scored(
        self, since: datetime | None = None, until: datetime | None = None, limit: int = MAX_ROWS
    ) -> list[ScoredPayment]:
        """Scored payments screened at or after ``since`` and before ``until``, oldest
        first: the newest ``limit`` of them (capped at :data:`MAX_ROWS`)."""
        table = rm_fraud_scores
        query = select(table).order_by(table.c.screened_at.desc(), table.c.transaction_id.desc())
        if since is not None:
            query = query.where(table.c.screened_at >= since)
        if until is not None:
            query = query.where(table.c.screened_at < until)
        query = query.limit(max(0, min(limit, MAX_ROWS)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            ScoredPayment(**{**dict(row), "screened_at": as_utc(row["screened_at"])})
            for row in reversed(rows)
        ]

    def latest(self) -> datetime | None:
        """When the newest scored payment was screened (None: none yet)."""
        with self.engine.connect() as conn:
            at = conn.execute(select(func.max(rm_fraud_scores.c.screened_at))).scalar()
        return None if at is None else as_utc(at)
