"""What the report queries share: the row type, keyset conditions, day boundaries and the
amount scale of a currency.

A report yields :data:`Row` pairs ``(key, values)``: ``key`` is the row's sort key (what a
cursor names, so that a client resumes strictly after it), ``values`` the row's cells in the
order of the report's columns (text, :class:`~decimal.Decimal` amounts at the currency's
scale, dates, UTC datetimes, None for empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from domain.money import minor_unit

Key = tuple[Any, ...]
Row = tuple[Key, tuple[Any, ...]]

MICROSECOND = timedelta(microseconds=1)


def after(columns: Sequence[ColumnElement[Any]], values: Sequence[Any]) -> ColumnElement[bool]:
    """``(columns) > (values)`` lexicographically, with the first column's ``>=`` in front
    so that an index on the columns gives a range scan on both backends."""
    condition: ColumnElement[bool] = columns[-1] > values[-1]
    for column, value in zip(reversed(columns[:-1]), reversed(values[:-1]), strict=True):
        condition = or_(column > value, and_(column == value, condition))
    return and_(columns[0] >= values[0], condition)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day`` (business dates are UTC dates of booking)."""
    return datetime.combine(day, time(), UTC)


@lru_cache(maxsize=256)
def exponent(currency: str) -> Decimal:
    """The quantum of ``currency``'s minor unit (Decimal("0.01") for EUR)."""
    return Decimal(1).scaleb(-minor_unit(currency))


def money(amount: Any, currency: str) -> Decimal:
    """``amount`` at ``currency``'s scale, as the reports show every amount."""
    return Decimal(amount).quantize(exponent(currency))
