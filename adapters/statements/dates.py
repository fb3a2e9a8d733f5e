"""Dates and date-times of a statement, read strictly and within a sane range.

Every ISODate / ISODateTime the camt.053 reader uses goes through :func:`read_date` or
:func:`read_date_time`, which raise :class:`StatementError` naming the element for text that
is not a date, or a year outside :data:`EARLIEST_YEAR` .. :data:`LATEST_YEAR`. The range is
what a bank statement can plausibly carry; it also keeps every later step safe: Python's
``datetime`` overflows converting ``0001-01-01T00:00:00+01:00`` or
``9999-12-31T23:59:59-01:00`` to UTC (an ``OverflowError`` that once blocked the inbox), and
databases have narrower ranges than Python.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.reconciliation.statement import StatementError

EARLIEST_YEAR = 1900
LATEST_YEAR = 2199


def _check_year(year: int, raw: str, where: str) -> None:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise StatementError(
            f"{where}: {raw!r} is out of range; years {EARLIEST_YEAR} to {LATEST_YEAR} are accepted"
        )


def read_date(raw: str, where: str) -> date:
    """An ISODate (``YYYY-MM-DD``) within the accepted years."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise StatementError(f"{where}: not a date: {raw!r}") from None
    _check_year(day.year, raw, where)
    return day


def read_date_time(raw: str, where: str, *, keep_offset: bool = False) -> datetime:
    """An ISODateTime within the accepted years (as written, before any conversion). Without
    an offset it is taken as UTC; converted to UTC unless ``keep_offset`` (the bank's local
    calendar day is wanted)."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise StatementError(f"{where}: not an ISO 8601 date-time: {raw!r}") from None
    _check_year(moment.year, raw, where)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if keep_offset:
        return moment
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # pragma: no cover - the year range rules it out
        raise StatementError(f"{where}: {raw!r} is out of range in UTC") from None
