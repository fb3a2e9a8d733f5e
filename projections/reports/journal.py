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

from sqlalchemy import ColumnElement, DateTime, Engine, Numeric, Select, select, type_coerce

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
    raw = engine.dialect.name == "postgresql"
    query = _query(params, start, end, as_of, raw)
    position: Key | None = resume
    quanta: dict[str, Decimal] = {}
    dates: dict[str, date] = {}
    while True:
        chunk = query
        if position is not None:
            chunk = chunk.where(after([_P.c.recorded_at, _P.c.account_id, _P.c.version], position))
        with engine.connect() as conn:
            if raw:
                conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")  # instants come back in UTC
            found = conn.execute(chunk.limit(CHUNK)).all()
        for row in found:
            (at, aid, version, booked, tx, key, ccy, amount, balance, tx_booked, *rest) = row
            booked = booked or tx_booked or at.date().isoformat()
            if not low <= booked <= high:
                continue
            quantum = quanta.get(ccy)
            if quantum is None:
                quantum = quanta[ccy] = exponent(ccy)
            amount = amount.quantize(quantum)
            if minimum is not None and abs(amount) < minimum:
                continue
            day = dates.get(booked)
            if day is None:
                day = dates[booked] = date.fromisoformat(booked)
            yield (
                (at, aid, version),
                (
                    at,
                    day,
                    tx,
                    key,
                    ccy,
                    amount,
                    balance.quantize(quantum),
                    *rest,
                ),
            )
        if len(found) < CHUNK:
            return
        last_row = found[-1]
        position = (last_row.recorded_at, last_row.account_id, last_row.version)


def _query(
    params: dict[str, Any], start: datetime, end: datetime, as_of: datetime, raw: bool
) -> Select[Any]:
    """The chunk query; ``raw`` (PostgreSQL): timestamps and amounts as the driver gives them
    (``timestamptz`` in the session's UTC, ``numeric`` as Decimal), without the per-value
    conversions the portable column types do for SQLite's text storage."""
    recorded_at: ColumnElement[Any] = _P.c.recorded_at
    amount: ColumnElement[Any] = _P.c.amount
    balance: ColumnElement[Any] = _P.c.balance_after
    if raw:
        recorded_at = type_coerce(recorded_at, DateTime(timezone=True)).label("recorded_at")
        amount = type_coerce(amount, Numeric(38, 8)).label("amount")
        balance = type_coerce(balance, Numeric(38, 8)).label("balance_after")
    query = (
        select(
            recorded_at,
            _P.c.account_id,
            _P.c.version,
            _P.c.booking_date,
            _P.c.transaction_id,
            _P.c.account_key,
            _P.c.currency,
            amount,
            balance,
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
