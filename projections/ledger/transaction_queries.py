"""The ledger's transaction queries: a transaction now or as of T, transactions by id, their
status histories, and the filtered list of transactions (newest first, keyset paginated).

As of T, a transaction is its current row wound back to its last status change recorded at
or before T (``rm_transaction_status``), never a replay of its stream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, false, or_, select

from projections import cursors
from projections.events import as_utc, quantize
from projections.ledger.account_queries import normalise_key, utc_or_none
from projections.ledger.tables import rm_transaction_status, rm_transactions
from projections.ledger.views import StatusChange, TransactionFilter, TransactionView
from projections.paging import IN_CHUNK, before, clamp, fetch_page
from projections.views import Page

_TX = rm_transactions
_S = rm_transaction_status


class TransactionQueries:
    """Read-only transaction queries; every method opens and closes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- transactions ----------------------------------------------------------------

    def transaction(self, tx_id: str, as_of: datetime | None = None) -> TransactionView | None:
        """The transaction now, or as recorded at ``as_of`` (None if received after it)."""
        as_of = utc_or_none(as_of)
        with self.engine.connect() as conn:
            row = conn.execute(select(_TX).where(_TX.c.id == str(tx_id))).mappings().first()
            if row is None:
                return None
            if as_of is None:
                return _transaction_view(row)
            if row["received_at"] > as_of:
                return None
            changes = (
                conn.execute(
                    select(_S)
                    .where(_S.c.transaction_id == str(tx_id), _S.c.at <= as_of)
                    .order_by(_S.c.seq)
                )
                .mappings()
                .all()
            )
        return _transaction_as_of(row, changes)

    def transactions_by_ids(
        self, ids: Sequence[str], as_of: datetime | None = None
    ) -> dict[str, TransactionView]:
        """Transactions by id, now (one query) or as of T (two); missing ids are absent."""
        as_of = utc_or_none(as_of)
        wanted = sorted({str(i) for i in ids})
        result: dict[str, TransactionView] = {}
        if not wanted:
            return result
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                query = select(_TX).where(_TX.c.id.in_(chunk))
                if as_of is None:
                    for row in conn.execute(query).mappings():
                        result[row["id"]] = _transaction_view(row)
                    continue
                rows = conn.execute(query.where(_TX.c.received_at <= as_of)).mappings().all()
                changes: dict[str, list[Any]] = defaultdict(list)
                status_query = (
                    select(_S)
                    .where(_S.c.transaction_id.in_([r["id"] for r in rows]), _S.c.at <= as_of)
                    .order_by(_S.c.transaction_id, _S.c.seq)
                )
                if rows:
                    for change in conn.execute(status_query).mappings():
                        changes[change["transaction_id"]].append(change)
                for row in rows:
                    result[row["id"]] = _transaction_as_of(row, changes[row["id"]])
        return result

    def status_history(
        self, tx_ids: Sequence[str], as_of: datetime | None = None
    ) -> dict[str, list[StatusChange]]:
        """Status changes per transaction in order (empty list for unknown ids), in one query."""
        as_of = utc_or_none(as_of)
        wanted = sorted({str(i) for i in tx_ids})
        result: dict[str, list[StatusChange]] = {i: [] for i in wanted}
        if not wanted:
            return result
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                query = select(_S).where(_S.c.transaction_id.in_(chunk))
                if as_of is not None:
                    query = query.where(_S.c.at <= as_of)
                query = query.order_by(_S.c.transaction_id, _S.c.seq)
                for row in conn.execute(query).mappings():
                    result[row["transaction_id"]].append(_status_change(row))
        return result

    def transactions(
        self,
        filter: TransactionFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Page[TransactionView]:
        """Transactions matching ``filter``, newest first (received-at desc, then id desc)."""
        limit = clamp(first)
        flt = filter or TransactionFilter()
        query = select(_TX)
        conditions: list[ColumnElement[bool]] = []
        if flt.account is not None:
            key = normalise_key(flt.account)
            conditions.append(
                or_(
                    _TX.c.debtor_iban == key,
                    _TX.c.creditor_iban == key,
                    _TX.c.debit_account == key,
                    _TX.c.credit_account == key,
                )
            )
        if flt.status is not None:
            conditions.append(_TX.c.status == flt.status.upper())
        if flt.channel is not None:
            conditions.append(_TX.c.channel == flt.channel.upper())
        if flt.min_amount is not None and flt.min_amount > 0:
            conditions.append(_TX.c.amount >= Decimal(flt.min_amount))
        if flt.max_amount is not None:
            if flt.max_amount < 0:
                conditions.append(false())
            else:
                conditions.append(_TX.c.amount <= Decimal(flt.max_amount))
        if flt.from_ is not None:
            conditions.append(_TX.c.received_at >= as_utc(flt.from_))
        if flt.to is not None:
            conditions.append(_TX.c.received_at <= as_utc(flt.to))
        if after is not None:
            at, last_id = cursors.decode(after, "transaction", datetime, str)
            conditions.append(before(_TX.c.received_at, _TX.c.id, at, last_id))
        if conditions:
            query = query.where(and_(*conditions))
        return fetch_page(
            self.engine,
            query.order_by(_TX.c.received_at.desc(), _TX.c.id.desc()),
            limit,
            _transaction_view,
            lambda view: cursors.encode("transaction", view.received_at, view.id),
        )


# ------------------------------------------------------------------------------ helpers


def _transaction_view(row: Mapping[Any, Any]) -> TransactionView:
    currency = row["currency"]
    return TransactionView(
        id=row["id"],
        external_id=row["external_id"],
        channel=row["channel"],
        status=row["status"],
        amount=quantize(row["amount"], currency),
        currency=currency,
        debtor_iban=row["debtor_iban"],
        debtor_name=row["debtor_name"],
        creditor_iban=row["creditor_iban"],
        creditor_name=row["creditor_name"],
        reference=row["reference"],
        requested_at=row["requested_at"],
        received_at=row["received_at"],
        updated_at=row["updated_at"],
        rejection_reason=row["rejection_reason"],
        rejection_detail=row["rejection_detail"],
        screening_outcome=row["screening_outcome"],
        rule_hits=list(row["rule_hits"] or []),
        reverses=row["reverses"],
        reversed_by=row["reversed_by"],
        vop_check_id=row["vop_check_id"],
    )


def _transaction_as_of(
    row: Mapping[Any, Any], changes: Sequence[Mapping[Any, Any]]
) -> TransactionView:
    """The current row wound back to its last status change at or before T."""
    state = dict(row)
    statuses = [c["status"] for c in changes]
    last = changes[-1] if changes else None
    state["status"] = last["status"] if last is not None else "RECEIVED"
    state["updated_at"] = last["at"] if last is not None else row["received_at"]
    if "SCREENED" not in statuses:
        state["screening_outcome"] = None
        state["rule_hits"] = []
    if state["status"] != "REJECTED":
        state["rejection_reason"] = None
        state["rejection_detail"] = None
    if state["status"] != "REVERSED":
        state["reversed_by"] = None
    return _transaction_view(state)


def _status_change(row: Mapping[Any, Any]) -> StatusChange:
    return StatusChange(
        status=row["status"], at=row["at"], reason=row["reason"], detail=row["detail"]
    )
