"""The ``fraud_claims`` projection: customer fraud claims, scam reports and chargebacks.

``rm_fraud_claims`` holds one row per :class:`~domain.fraud.claims.FraudClaim`: the payment it
names (with its amount, currency and parties from the ledger's read model, through the
:class:`~projections.fraud.ports.TransactionFacts` port), what was claimed (kind, channel and
reference, reported at, statement, typology), who filed it (the ``Filed`` event's actor) and
where it stands (FILED, WITHDRAWN, RESOLVED with UPHELD | REJECTED). A projection of its own,
beside ``fraud`` (revision 0007 added its table): rebuilding it touches nothing else.

:class:`FraudClaimQueries` lists claims newest first (keyset pages, by status or payment) and
gives the training its labels (:meth:`FraudClaimQueries.labels`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Index,
    String,
    Table,
    Text,
    select,
)

from domain.fraud.claims import ClaimLabel, FraudClaim, claim_stands
from projections import cursors
from projections.base import Projection, ProjectionError, chunked, insert_rows, update_by_key
from projections.events import Envelope, as_utc
from projections.fraud.ports import TransactionFacts
from projections.paging import before, fetch_page
from projections.tables import ID, UtcDateTime, metadata
from projections.views import Page

rm_fraud_claims = Table(
    "rm_fraud_claims",
    metadata,
    Column("claim_id", ID, primary_key=True),
    Column("transaction_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),  # CLAIM | SCAM_REPORT | CHARGEBACK
    Column("channel", String(32), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # FILED | WITHDRAWN | RESOLVED
    Column("resolution", String(16)),  # UPHELD | REJECTED
    Column("reported_by", Text, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("statement", Text, nullable=False),
    Column("typology", String(64)),
    Column("note", Text),
    Column("changed_by", Text),
    Column("amount", String(64)),
    Column("currency", String(3)),
    Column("debtor_iban", String(34)),
    Column("creditor_iban", String(34)),
    Column("filed_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_rm_fraud_claims_filed", "filed_at", "claim_id"),
    Index("ix_rm_fraud_claims_status", "status", "filed_at", "claim_id"),
    Index("ix_rm_fraud_claims_transaction", "transaction_id", "filed_at", "claim_id"),
)


class FraudClaimsProjection(Projection):
    name = "fraud_claims"
    tables = (rm_fraud_claims,)

    def __init__(self, transaction_facts: TransactionFacts) -> None:
        self.transaction_facts = transaction_facts

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        relevant = [e for e in envelopes if isinstance(e.event, FraudClaim.Event)]
        if not relevant:
            return
        ids = sorted({e.stream_id for e in relevant})
        claims: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids):
            rows = conn.execute(
                select(rm_fraud_claims).where(rm_fraud_claims.c.claim_id.in_(chunk))
            )
            for row in rows.mappings():
                claims[row["claim_id"]] = dict(row)
        existing = set(claims)
        for envelope in relevant:
            try:
                self._apply_one(conn, envelope, claims)
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        insert_rows(conn, rm_fraud_claims, [r for k, r in claims.items() if k not in existing])
        update_by_key(conn, rm_fraud_claims, "claim_id", [claims[k] for k in existing])

    def _apply_one(
        self, conn: Connection, envelope: Envelope, claims: dict[str, dict[str, Any]]
    ) -> None:
        event: Any = envelope.event
        at = envelope.recorded_at
        actor = str(getattr(event, "actor", "") or "")
        if envelope.kind == "Filed":
            facts = self.transaction_facts(conn, str(event.transaction_id))
            claims[envelope.stream_id] = {
                "claim_id": envelope.stream_id,
                "transaction_id": str(event.transaction_id),
                "kind": str(event.kind),
                "channel": str(event.channel),
                "reference": str(event.reference),
                "status": "FILED",
                "resolution": None,
                "reported_by": actor,
                "reported_at": as_utc(event.reported_at),
                "statement": str(event.statement),
                "typology": event.typology,
                "note": None,
                "changed_by": None,
                "amount": format(facts.amount, "f") if facts is not None else None,
                "currency": facts.currency if facts is not None else None,
                "debtor_iban": facts.debtor_iban if facts is not None else None,
                "creditor_iban": facts.creditor_iban if facts is not None else None,
                "filed_at": at,
                "updated_at": at,
            }
            return
        row = claims[envelope.stream_id]  # a later event of a claim always follows its Filed
        if envelope.kind == "Withdrawn":
            row["status"] = "WITHDRAWN"
        elif envelope.kind == "Resolved":
            row["status"] = "RESOLVED"
            row["resolution"] = str(event.resolution)
        row.update(note=str(event.note), changed_by=actor, updated_at=at)


@dataclass(frozen=True, slots=True)
class FraudClaimView:
    id: str
    transaction_id: str
    kind: str
    channel: str
    reference: str
    status: str
    resolution: str | None
    reported_by: str
    reported_at: datetime
    statement: str
    typology: str | None
    note: str | None
    changed_by: str | None
    amount: str | None
    currency: str | None
    debtor_iban: str | None
    creditor_iban: str | None
    filed_at: datetime
    updated_at: datetime


CLAIM_STATUSES = ("FILED", "WITHDRAWN", "RESOLVED")


class FraudClaimQueries:
    """Reads of ``rm_fraud_claims`` (never the event store)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, claim_id: str) -> FraudClaimView | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(rm_fraud_claims).where(rm_fraud_claims.c.claim_id == claim_id))
                .mappings()
                .first()
            )
        return _view(row) if row is not None else None

    def claims(
        self,
        status: str | None,
        transaction_id: str | None,
        limit: int,
        after: str | None,
    ) -> Page[FraudClaimView]:
        """Claims newest first (by filing), optionally of one status or payment; keyset pages."""
        table = rm_fraud_claims
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(table.c.status == status)
        if transaction_id is not None:
            conditions.append(table.c.transaction_id == transaction_id)
        if after is not None:
            at, last_id = cursors.decode(after, "fraud-claim", datetime, str)
            conditions.append(before(table.c.filed_at, table.c.claim_id, as_utc(at), last_id))
        query = (
            select(table)
            .where(*conditions)
            .order_by(table.c.filed_at.desc(), table.c.claim_id.desc())
        )
        return fetch_page(self.engine, query, limit, _view, _cursor)

    def labels(self) -> list[ClaimLabel]:
        """Every claim as a label: whether it stands (filed or upheld) on its payment."""
        table = rm_fraud_claims
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.transaction_id, table.c.status, table.c.resolution)
            ).all()
        return [ClaimLabel(r.transaction_id, claim_stands(r.status, r.resolution)) for r in rows]


def _cursor(view: FraudClaimView) -> str:
    return cursors.encode("fraud-claim", view.filed_at, view.id)


def _view(row: Mapping[Any, Any]) -> FraudClaimView:
    return FraudClaimView(
        id=row["claim_id"],
        transaction_id=row["transaction_id"],
        kind=row["kind"],
        channel=row["channel"],
        reference=row["reference"],
        status=row["status"],
        resolution=row["resolution"],
        reported_by=row["reported_by"],
        reported_at=as_utc(row["reported_at"]),
        statement=row["statement"],
        typology=row["typology"],
        note=row["note"],
        changed_by=row["changed_by"],
        amount=row["amount"],
        currency=row["currency"],
        debtor_iban=row["debtor_iban"],
        creditor_iban=row["creditor_iban"],
        filed_at=as_utc(row["filed_at"]),
        updated_at=as_utc(row["updated_at"]),
    )
