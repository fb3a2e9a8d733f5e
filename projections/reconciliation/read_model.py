"""The ``reconciliation`` projection, its queries, and the ledger side of a statement.

* ``rm_reconciliations``: one row per imported statement: account, period, balances (the
  statement's and the ledger's), counts of entries, matches and breaks, a status
  (``IMPORTED`` until the result is recorded, then ``RECONCILED`` without breaks,
  ``OPEN_BREAKS`` while any break is open, ``RESOLVED`` when every break is), and the
  entries with the ledger transaction each one matched.
* ``rm_reconciliation_breaks``: one row per break, with its resolution.

Rows come from the reconciliation context's events only, so a rebuild writes exactly what
incremental processing wrote.

:class:`LedgerPeriodReader` implements
:class:`~application.reconciliation.ports.LedgerStatementSide` over the ledger's read models
(``rm_accounts``, ``rm_postings`` joined with ``rm_transactions``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from domain.reconciliation.matching import LedgerPosting, LedgerSide
from domain.reconciliation.reconciliation import StatementReconciliation
from projections import cursors
from projections.base import Projection, ProjectionError, chunked, insert_rows, update_by_key
from projections.events import Envelope, as_utc, quantize
from projections.paging import before, fetch_page
from projections.tables import (
    ID,
    Amount,
    JsonDoc,
    UtcDateTime,
    metadata,
    rm_accounts,
    rm_postings,
    rm_transactions,
)
from projections.views import Page

rm_reconciliations = Table(
    "rm_reconciliations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("statement_id", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("version_read", String(32), nullable=False),
    Column("account", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("from_date", String(10), nullable=False),
    Column("to_date", String(10), nullable=False),
    Column("statement_created_at", UtcDateTime, nullable=False),
    Column("opening_balance", Amount),
    Column("closing_balance", Amount, nullable=False),
    Column("ledger_closing_balance", Amount),
    Column("entry_count", Integer, nullable=False),
    Column("matched_count", Integer, nullable=False),
    Column("break_count", Integer, nullable=False),
    Column("open_break_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("entries", JsonDoc, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_rm_reconciliations_imported", "imported_at", "id"),
    Index("ix_rm_reconciliations_account", "account", "imported_at", "id"),
)

rm_reconciliation_breaks = Table(
    "rm_reconciliation_breaks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("reconciliation_id", ID, nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("account", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("statement_amount", Amount),
    Column("ledger_amount", Amount),
    Column("transaction_id", ID),
    Column("entry_index", Integer),
    Column("booking_date", String(10)),
    Column("reference", Text),
    Column("detail", Text, nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", Text),
    Column("reason", Text),
    Index("ix_rm_reconciliation_breaks_detected", "detected_at", "id"),
    Index("ix_rm_reconciliation_breaks_status", "status", "detected_at", "id"),
    Index("ix_rm_reconciliation_breaks_kind", "kind", "detected_at", "id"),
    Index("ix_rm_reconciliation_breaks_of", "reconciliation_id", "number"),
)

STATUSES = ("IMPORTED", "RECONCILED", "OPEN_BREAKS", "RESOLVED")
BREAK_STATUSES = ("OPEN", "RESOLVED")


# --------------------------------------------------------------------------- rows


def reconciliation_row(
    id_: str,
    summary: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    at: datetime,
    actor: str,
) -> dict[str, Any]:
    """The row of a just-imported statement (before its result is recorded)."""
    opening = summary.get("opening_balance")
    return {
        "id": id_,
        "statement_id": str(summary["statement_id"]),
        "message_id": str(summary.get("message_id") or ""),
        "version_read": str(summary.get("version") or ""),
        "account": str(summary["account"]),
        "currency": str(summary["currency"]),
        "from_date": str(summary["from_date"]),
        "to_date": str(summary["to_date"]),
        "statement_created_at": datetime.fromisoformat(str(summary["created_at"])),
        "opening_balance": Decimal(opening) if opening is not None else None,
        "closing_balance": Decimal(summary["closing_balance"]),
        "ledger_closing_balance": None,
        "entry_count": len(entries),
        "matched_count": 0,
        "break_count": 0,
        "open_break_count": 0,
        "status": "IMPORTED",
        "entries": [dict(entry, transaction_id=None, rule=None) for entry in entries],
        "imported_at": at,
        "imported_by": actor,
        "updated_at": at,
    }


def record_result(
    row: dict[str, Any],
    matches: Sequence[Mapping[str, Any]],
    breaks: Sequence[Mapping[str, Any]],
    ledger_closing: str | None,
    at: datetime,
) -> list[dict[str, Any]]:
    """Update ``row`` with a ``Reconciled`` result; returns the new break rows."""
    entries = [dict(entry) for entry in row["entries"]]
    for match in matches:
        index = int(match["entry_index"])
        entries[index]["transaction_id"] = str(match["transaction_id"])
        entries[index]["rule"] = str(match["rule"])
    row.update(
        entries=entries,
        matched_count=len(matches),
        break_count=len(breaks),
        open_break_count=len(breaks),
        ledger_closing_balance=Decimal(ledger_closing) if ledger_closing is not None else None,
        status="OPEN_BREAKS" if breaks else "RECONCILED",
        updated_at=at,
    )

    def amount(value: Any) -> Decimal | None:
        return Decimal(value) if value is not None else None

    return [
        {
            "id": f"{row['id']}:{number}",
            "reconciliation_id": row["id"],
            "number": number,
            "kind": str(data["kind"]),
            "status": "OPEN",
            "account": row["account"],
            "currency": row["currency"],
            "statement_amount": amount(data.get("statement_amount")),
            "ledger_amount": amount(data.get("ledger_amount")),
            "transaction_id": data.get("transaction_id"),
            "entry_index": data.get("entry_index"),
            "booking_date": data.get("booking_date"),
            "reference": data.get("reference"),
            "detail": str(data["detail"]),
            "detected_at": at,
            "resolved_at": None,
            "resolved_by": None,
            "reason": None,
        }
        for number, data in enumerate(breaks, start=1)
    ]


class ReconciliationProjection(Projection):
    name = "reconciliation"
    tables = (rm_reconciliations, rm_reconciliation_breaks)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        relevant = [e for e in envelopes if isinstance(e.event, StatementReconciliation.Event)]
        if not relevant:
            return
        ids = sorted({e.stream_id for e in relevant})
        rows: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids):
            found = conn.execute(
                select(rm_reconciliations).where(rm_reconciliations.c.id.in_(chunk))
            )
            for row in found.mappings():
                rows[row["id"]] = dict(row)
        existing = set(rows)
        wanted = sorted({str(e.event.break_id) for e in relevant if e.kind == "BreakResolved"})
        breaks: dict[str, dict[str, Any]] = {}
        for chunk in chunked(wanted):
            found = conn.execute(
                select(rm_reconciliation_breaks).where(rm_reconciliation_breaks.c.id.in_(chunk))
            )
            for row in found.mappings():
                breaks[row["id"]] = dict(row)
        existing_breaks = set(breaks)
        for envelope in relevant:
            try:
                self._apply_one(envelope, rows, breaks)
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        insert_rows(conn, rm_reconciliations, [r for k, r in rows.items() if k not in existing])
        update_by_key(conn, rm_reconciliations, "id", [rows[k] for k in sorted(existing)])
        insert_rows(
            conn,
            rm_reconciliation_breaks,
            [b for k, b in breaks.items() if k not in existing_breaks],
        )
        update_by_key(
            conn, rm_reconciliation_breaks, "id", [breaks[k] for k in sorted(existing_breaks)]
        )

    def _apply_one(
        self,
        envelope: Envelope,
        rows: dict[str, dict[str, Any]],
        breaks: dict[str, dict[str, Any]],
    ) -> None:
        event: Any = envelope.event
        at = envelope.recorded_at
        id_ = envelope.stream_id
        if envelope.kind == "Imported":
            actor = str(getattr(event, "actor", "") or "")
            rows[id_] = reconciliation_row(id_, event.statement, event.entries, at, actor)
            return
        row = rows[id_]
        if envelope.kind == "Reconciled":
            for item in record_result(
                row, event.matches, event.breaks, event.ledger_closing_balance, at
            ):
                breaks[item["id"]] = item
        elif envelope.kind == "BreakResolved":
            item = breaks[str(event.break_id)]
            item.update(
                status="RESOLVED",
                resolved_at=at,
                resolved_by=str(event.resolver),
                reason=event.reason,
            )
            row["open_break_count"] -= 1
            row["status"] = "RESOLVED" if row["open_break_count"] == 0 else "OPEN_BREAKS"
            row["updated_at"] = at


# --------------------------------------------------------------------------- views


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


# --------------------------------------------------------------------------- ledger side


class LedgerPeriodReader:
    """The ledger's side of a statement, from the ledger's read models.

    A posting's booking date is its transaction's (the UTC date the ledger booked it). The
    balance at the period's end is the running balance after the last posting booked on or
    before the period's last day. ``before_read`` (set by the composition root) brings the
    read models up to the ledger's head first, so matching never runs on a lagging view.
    """

    def __init__(self, engine: Engine, before_read: Callable[[], object] | None = None) -> None:
        self.engine = engine
        self.before_read = before_read

    def account_period(self, account: str, from_date: date, to_date: date) -> LedgerSide | None:
        if self.before_read is not None:
            self.before_read()
        p, t = rm_postings, rm_transactions
        with self.engine.connect() as conn:
            found = conn.execute(
                select(rm_accounts.c.id, rm_accounts.c.currency).where(rm_accounts.c.key == account)
            ).first()
            if found is None:
                return None
            # booking dates are UTC dates of the recording time: one day either side is ample
            start = datetime.combine(from_date - timedelta(days=1), time(), UTC)
            end = datetime.combine(to_date + timedelta(days=2), time(), UTC)
            rows = conn.execute(
                select(
                    p.c.version,
                    p.c.transaction_id,
                    p.c.amount,
                    p.c.balance_after,
                    p.c.booking_date,
                    p.c.recorded_at,
                    t.c.booking_date.label("tx_booking_date"),
                    t.c.external_id,
                    t.c.metadata,
                )
                .select_from(p.outerjoin(t, t.c.id == p.c.transaction_id))
                .where(p.c.account_id == found.id, p.c.recorded_at < end)
                .where(p.c.recorded_at >= start)
                .order_by(p.c.version)
            ).all()
            earlier = conn.execute(
                select(p.c.balance_after)
                .where(p.c.account_id == found.id, p.c.recorded_at < start)
                .order_by(p.c.recorded_at.desc(), p.c.version.desc())
                .limit(1)
            ).first()
        currency = str(found.currency)
        closing = Decimal(earlier.balance_after) if earlier is not None else Decimal(0)
        postings: list[LedgerPosting] = []
        for row in rows:
            booked = date.fromisoformat(
                row.tx_booking_date
                or row.booking_date
                or as_utc(row.recorded_at).date().isoformat()
            )
            if booked <= to_date:
                closing = Decimal(row.balance_after)
            if from_date <= booked <= to_date:
                postings.append(
                    LedgerPosting(
                        transaction_id=str(row.transaction_id),
                        amount=quantize(Decimal(row.amount), currency),
                        booking_date=booked,
                        references=_references(row),
                    )
                )
        return LedgerSide(account, currency, quantize(closing, currency), tuple(postings))


def _references(row: Any) -> frozenset[str]:
    """What a statement entry may quote of a ledger transaction: its id, its external id, and
    the ISO 20022 ids the payment came with (end-to-end id, transaction id, UETR)."""
    refs = {str(row.transaction_id)}
    if row.external_id:
        refs.add(str(row.external_id))
    meta = row.metadata if isinstance(row.metadata, dict) else {}
    for key in ("endToEndId", "txId", "uetr"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            refs.add(value.strip())
    return frozenset(refs)
