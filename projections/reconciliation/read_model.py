"""The ``reconciliation`` projection and its tables.

* ``rm_reconciliations``: one row per imported statement: account, period, balances (the
  statement's and the ledger's), counts of entries, matches and breaks, a status
  (``IMPORTED`` until the result is recorded, then ``RECONCILED`` without breaks,
  ``OPEN_BREAKS`` while any break is open, ``RESOLVED`` when every break is), and the
  entries with the ledger transaction each one matched.
* ``rm_reconciliation_breaks``: one row per break, with its resolution.

Rows come from the reconciliation context's events only, so a rebuild writes exactly what
incremental processing wrote. The views and queries are in
:mod:`projections.reconciliation.queries`; the ledger's side of a statement (what the matching
compares the statement with) is the ledger's own read port,
:class:`projections.ledger.period_reader.LedgerPeriodReader`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table, Text, select

from domain.reconciliation.reconciliation import StatementReconciliation
from projections.base import Projection, ProjectionError, chunked, insert_rows, update_by_key
from projections.events import Envelope
from projections.tables import ID, Amount, JsonDoc, UtcDateTime, metadata

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
