"""Reads of the reconciliation read models (never the event store): imported statements and
their breaks, as views; :func:`views_of` builds the same views from an aggregate just changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.sql.elements import ColumnElement

from domain.reconciliation.reconciliation import StatementReconciliation
from projections import cursors
from projections.events import as_utc
from projections.paging import before, fetch_page
from projections.reconciliation.read_model import (
    reconciliation_row,
    record_result,
    rm_reconciliation_breaks,
    rm_reconciliations,
)
from projections.views import Page


@dataclass(frozen=True)
class ReconciliationEntryView:
    amount: Decimal  # signed: negative is a debit
    currency: str
    booking_date: str
    value_date: str | None
    end_to_end_id: str | None
    account_servicer_ref: str | None
    remittance: str
    reversal: bool
    transaction_id: str | None  # the ledger transaction it matched
    rule: str | None


@dataclass(frozen=True)
class ReconciliationView:
    id: str
    statement_id: str
    message_id: str
    version_read: str
    account: str
    currency: str
    from_date: str
    to_date: str
    statement_created_at: datetime
    opening_balance: Decimal | None
    closing_balance: Decimal
    ledger_closing_balance: Decimal | None
    entry_count: int
    matched_count: int
    break_count: int
    open_break_count: int
    status: str
    imported_at: datetime
    imported_by: str
    updated_at: datetime
    entries: list[ReconciliationEntryView] = field(default_factory=list)


@dataclass(frozen=True)
class BreakView:
    id: str
    reconciliation_id: str
    number: int
    kind: str
    status: str
    account: str
    currency: str
    statement_amount: Decimal | None
    ledger_amount: Decimal | None
    transaction_id: str | None
    entry_index: int | None
    booking_date: str | None
    reference: str | None
    detail: str
    detected_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    reason: str | None = None


def _entry_view(data: Mapping[str, Any]) -> ReconciliationEntryView:
    amount = Decimal(data["amount"])
    return ReconciliationEntryView(
        amount=amount if data["direction"] == "CRDT" else -amount,
        currency=str(data["currency"]),
        booking_date=str(data["booking_date"]),
        value_date=data.get("value_date"),
        end_to_end_id=data.get("end_to_end_id"),
        account_servicer_ref=data.get("account_servicer_ref"),
        remittance=str(data.get("remittance") or ""),
        reversal=bool(data.get("reversal")),
        transaction_id=data.get("transaction_id"),
        rule=data.get("rule"),
    )


def reconciliation_view(row: Mapping[Any, Any]) -> ReconciliationView:
    return ReconciliationView(
        id=row["id"],
        statement_id=row["statement_id"],
        message_id=row["message_id"],
        version_read=row["version_read"],
        account=row["account"],
        currency=row["currency"],
        from_date=row["from_date"],
        to_date=row["to_date"],
        statement_created_at=as_utc(row["statement_created_at"]),
        opening_balance=row["opening_balance"],
        closing_balance=row["closing_balance"],
        ledger_closing_balance=row["ledger_closing_balance"],
        entry_count=row["entry_count"],
        matched_count=row["matched_count"],
        break_count=row["break_count"],
        open_break_count=row["open_break_count"],
        status=row["status"],
        imported_at=as_utc(row["imported_at"]),
        imported_by=row["imported_by"],
        updated_at=as_utc(row["updated_at"]),
        entries=[_entry_view(e) for e in row["entries"] or []],
    )


def break_view(row: Mapping[Any, Any]) -> BreakView:
    resolved_at = row["resolved_at"]
    return BreakView(
        id=row["id"],
        reconciliation_id=row["reconciliation_id"],
        number=row["number"],
        kind=row["kind"],
        status=row["status"],
        account=row["account"],
        currency=row["currency"],
        statement_amount=row["statement_amount"],
        ledger_amount=row["ledger_amount"],
        transaction_id=row["transaction_id"],
        entry_index=row["entry_index"],
        booking_date=row["booking_date"],
        reference=row["reference"],
        detail=row["detail"],
        detected_at=as_utc(row["detected_at"]),
        resolved_at=as_utc(resolved_at) if resolved_at is not None else None,
        resolved_by=row["resolved_by"],
        reason=row["reason"],
    )


def views_of(aggregate: StatementReconciliation) -> tuple[ReconciliationView, list[BreakView]]:
    """The views of an aggregate just changed, for answers given before the projector has
    caught up (the same row functions as the projection; a resolution's time is the
    aggregate's last change)."""
    at = as_utc(aggregate.created_on)
    row = reconciliation_row(str(aggregate.id), aggregate.summary, aggregate.entry_data, at, "")
    rows: list[dict[str, Any]] = []
    if aggregate.reconciled:
        rows = record_result(
            row,
            [m.as_data() for m in aggregate.matches],
            [b.finding.as_data() for b in aggregate.breaks],
            aggregate.ledger_closing_balance,
            at,
        )
    for item, state in zip(rows, aggregate.breaks, strict=True):
        if state.status.value == "RESOLVED":
            item.update(
                status="RESOLVED",
                resolved_at=as_utc(aggregate.modified_on),
                resolved_by=state.resolved_by,
                reason=state.reason,
            )
            row["open_break_count"] -= 1
    if row["break_count"] and row["open_break_count"] == 0:
        row["status"] = "RESOLVED"
    row["updated_at"] = as_utc(aggregate.modified_on)
    return reconciliation_view(row), [break_view(item) for item in rows]


# --------------------------------------------------------------------------- queries


class ReconciliationQueries:
    """Reads of the reconciliation read models (never the event store)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reconciliation(self, id_: str) -> ReconciliationView | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(rm_reconciliations).where(rm_reconciliations.c.id == id_))
                .mappings()
                .first()
            )
        return reconciliation_view(row) if row is not None else None

    def reconciliations(
        self, account: str | None, limit: int, after: str | None
    ) -> Page[ReconciliationView]:
        """Imports newest first, optionally of one account; keyset pages."""
        table = rm_reconciliations
        conditions: list[ColumnElement[bool]] = []
        if account is not None:
            conditions.append(table.c.account == account)
        if after is not None:
            at, last_id = cursors.decode(after, "reconciliation", datetime, str)
            conditions.append(before(table.c.imported_at, table.c.id, as_utc(at), last_id))
        query = (
            select(table).where(*conditions).order_by(table.c.imported_at.desc(), table.c.id.desc())
        )
        return fetch_page(
            self.engine,
            query,
            limit,
            reconciliation_view,
            lambda v: cursors.encode("reconciliation", v.imported_at, v.id),
        )

    def breaks(
        self, status: str | None, kind: str | None, limit: int, after: str | None
    ) -> Page[BreakView]:
        """Breaks newest first, optionally of one status and kind; keyset pages."""
        table = rm_reconciliation_breaks
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(table.c.status == status)
        if kind is not None:
            conditions.append(table.c.kind == kind)
        if after is not None:
            at, last_id = cursors.decode(after, "reconciliation-break", datetime, str)
            conditions.append(before(table.c.detected_at, table.c.id, as_utc(at), last_id))
        query = (
            select(table).where(*conditions).order_by(table.c.detected_at.desc(), table.c.id.desc())
        )
        return fetch_page(
            self.engine,
            query,
            limit,
            break_view,
            lambda v: cursors.encode("reconciliation-break", v.detected_at, v.id),
        )

    def breaks_of(self, reconciliation_id: str) -> list[BreakView]:
        table = rm_reconciliation_breaks
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(table)
                    .where(table.c.reconciliation_id == reconciliation_id)
                    .order_by(table.c.number)
                )
                .mappings()
                .all()
            )
        return [break_view(row) for row in rows]

    def break_(self, id_: str) -> BreakView | None:
        table = rm_reconciliation_breaks
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.id == id_)).mappings().first()
        return break_view(row) if row is not None else None
