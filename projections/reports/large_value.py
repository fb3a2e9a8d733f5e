"""Large-value transactions as of T: every transaction received on a date of the period (UTC)
and recorded by T whose amount is above its currency's threshold (``thresholds``, else
``default_threshold``), with its status as recorded at T (from ``rm_transaction_status``).

Only fields fixed when the transaction was received are shown (parties, amount, reference),
so nothing recorded after T can appear. Read in keyset chunks on the ``(received_at, id)``
index; the amount condition is a range on the sortable amount column.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, or_, select

from projections.ledger.tables import rm_transaction_status, rm_transactions
from projections.reports.common import Key, Row, after, day_start, money

CHUNK = 1000
KEY_TYPES = (datetime, str)
_T = rm_transactions
_S = rm_transaction_status


def rows(
    engine: Engine, params: dict[str, Any], as_of: datetime, resume: Key | None
) -> Iterator[Row]:
    """The report's rows after ``resume`` ((received at, transaction id) or None)."""
    thresholds: dict[str, Decimal] = params.get("thresholds") or {}
    default: Decimal = params["default_threshold"]
    status = (
        select(_S.c.status)
        .where(_S.c.transaction_id == _T.c.id, _S.c.at <= as_of)
        .order_by(_S.c.seq.desc())
        .limit(1)
        .correlate(_T)
        .scalar_subquery()
    )
    query = (
        select(_T, status.label("status_then"))
        .where(
            _T.c.received_at >= day_start(params["from"]),
            _T.c.received_at < day_start(params["to"] + timedelta(days=1)),
            _T.c.received_at <= as_of,
            _above(thresholds, default, params.get("currency")),
        )
        .order_by(_T.c.received_at, _T.c.id)
    )
    position = resume
    while True:
        chunk = (
            query if position is None else query.where(after([_T.c.received_at, _T.c.id], position))
        )
        with engine.connect() as conn:
            found = conn.execute(chunk.limit(CHUNK)).mappings().all()
        for row in found:
            ccy = row["currency"]
            yield (
                (row["received_at"], row["id"]),
                (
                    row["received_at"],
                    row["id"],
                    row["channel"],
                    row["external_id"],
                    ccy,
                    money(row["amount"], ccy),
                    money(thresholds.get(ccy, default), ccy),
                    row["status_then"],
                    row["debtor_iban"],
                    row["debtor_name"],
                    row["creditor_iban"],
                    row["creditor_name"],
                    row["reference"],
                ),
            )
        if len(found) < CHUNK:
            return
        position = (found[-1]["received_at"], found[-1]["id"])


def _above(
    thresholds: dict[str, Decimal], default: Decimal, currency: str | None
) -> ColumnElement[bool]:
    """Amount above the threshold of its currency (only ``currency`` when given)."""
    listed = sorted(thresholds)
    if currency is not None:
        return and_(_T.c.currency == currency, _T.c.amount > thresholds.get(currency, default))
    cases = [and_(_T.c.currency == ccy, _T.c.amount > thresholds[ccy]) for ccy in listed]
    others = _T.c.amount > default
    if listed:
        others = and_(_T.c.currency.not_in(listed), others)
    return or_(*cases, others)
