"""The transaction journal for a period as of T: every posting (one row per account leg)
booked on a business date of the period and recorded at or before T, in recording order
(recorded at, account id, account version), with its transaction's channel, external id and
reference (fields fixed when the transaction was received, so nothing recorded after T shows).

Postings are read in keyset chunks of :data:`CHUNK` on the ``(recorded_at, account_id,
version)`` index (``(account_id, recorded_at, version)`` for one account), one short
transaction per chunk. Booking dates are UTC dates of booking: the scan covers the period
with a day either side and keeps the postings whose booking date is in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Select, select

from domain.ledger.ids import account_id
from projections.ledger.tables import rm_postings, rm_transactions
from projections.reports.common import Key, Row, after, day_start, exponent

CHUNK = 5000
KEY_TYPES = (datetime, str, int)
_P = rm_postings
_T = rm_transactions


def rows(
    engine: Engine, params: dict[str, Any], as_of: datetime, resume: Key | None
) -> Iterator[Row]:
    """The journal's rows after ``resume`` ((recorded at, account id, version) or None)."""
    first: date = params["from"]
    last: date = params["to"]
    low, high = first.isoformat(), last.isoformat()
    minimum: Decimal | None = params.get("min_amount")
    start = day_start(first - timedelta(days=1))
    end = day_start(last + timedelta(days=2))
    query = _query(params, start, end, as_of)
    position: Key | None = resume
    while True:
        chunk = query
        if position is not None:
            chunk = chunk.where(after([_P.c.recorded_at, _P.c.account_id, _P.c.version], position))
        with engine.connect() as conn:
            found = conn.execute(chunk.limit(CHUNK)).all()
        for row in found:
            booked = row.booking_date or row.tx_booking_date or row.recorded_at.date().isoformat()
            if not low <= booked <= high:
                continue
            quantum = exponent(row.currency)
            amount = row.amount.quantize(quantum)
            if minimum is not None and abs(amount) < minimum:
                continue
            yield (
                (row.recorded_at, row.account_id, row.version),
                (
                    row.recorded_at,
                    date.fromisoformat(booked),
                    row.transaction_id,
                    row.account_key,
                    row.currency,
                    amount,
                    row.balance_after.quantize(quantum),
                    row.channel,
                    row.external_id,
                    row.reference,
                ),
            )
        if len(found) < CHUNK:
            return
        last_row = found[-1]
        position = (last_row.recorded_at, last_row.account_id, last_row.version)


def _query(params: dict[str, Any], start: datetime, end: datetime, as_of: datetime) -> Select[Any]:
    query = (
        select(
            _P.c.recorded_at,
            _P.c.account_id,
            _P.c.version,
            _P.c.booking_date,
            _P.c.transaction_id,
            _P.c.account_key,
            _P.c.currency,
            _P.c.amount,
            _P.c.balance_after,
            _T.c.booking_date.label("tx_booking_date"),
            _T.c.channel,
            _T.c.external_id,
            _T.c.reference,
        )
        .select_from(_P.outerjoin(_T, _T.c.id == _P.c.transaction_id))
        .where(_P.c.recorded_at >= start, _P.c.recorded_at < end, _P.c.recorded_at <= as_of)
        .order_by(_P.c.recorded_at, _P.c.account_id, _P.c.version)
    )
    if params.get("account") is not None:
        query = query.where(_P.c.account_id == str(account_id(params["account"])))
    if params.get("currency") is not None:
        query = query.where(_P.c.currency == params["currency"])
    if params.get("channel") is not None:
        query = query.where(_T.c.channel == params["channel"])
    return query
