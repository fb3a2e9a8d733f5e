"""The ledger's side of a statement, read from the ledger's read models: the reconciliation
context's ``LedgerStatementSide`` port (application layer), implemented over ``rm_accounts``
and ``rm_postings`` joined with ``rm_transactions``; the composition root wires it in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from domain.reconciliation.matching import LedgerPosting, LedgerSide
from projections.events import as_utc, quantize
from projections.ledger.tables import rm_accounts, rm_postings, rm_transactions


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
            # in recording order: an internal account's legs may reach the log out of it, and
            # its running balances follow recording order (projections.ledger.internal_accounts)
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
                .order_by(p.c.recorded_at, p.c.version)
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
