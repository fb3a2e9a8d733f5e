"""Daily balances as of T: for each account and each business date of the period, the
opening balance, the day's debits and credits and the closing balance, as recorded at T.

A business date is the UTC date of booking, so a day's closing state is the account's
latest ``rm_account_history`` row recorded before the next midnight (and at or before T). The
history rows carry cumulative debit and credit totals, so a day's debits and credits are the
differences of two index lookups; no posting is read. Accounts go in chunks of :data:`CHUNK`
by key; per chunk one as-of lookup per day (and one for the opening), so memory is bounded by
chunk size times days, whatever the size of the book.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from domain.ledger.ids import account_id
from projections.ledger.account_queries import history_as_of
from projections.ledger.tables import rm_accounts
from projections.reports.common import MICROSECOND, Key, Row, day_start, money

CHUNK = 200
KEY_TYPES = (str, str)
_A = rm_accounts
_ZERO = (Decimal(0), Decimal(0), Decimal(0))  # balance, debits total, credits total


def rows(
    engine: Engine, params: dict[str, Any], as_of: datetime, resume: Key | None
) -> Iterator[Row]:
    """The report's rows after ``resume`` ((account key, ISO date) or None), by account, date."""
    first: date = params["from"]
    last: date = params["to"]
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    position = resume[0] if resume is not None else None
    inclusive = resume is not None
    while True:
        accounts = _accounts(engine, params, position, inclusive)
        if not accounts:
            return
        inclusive = False
        states = _states(engine, accounts, days, as_of)
        for key, currency in accounts:
            previous = states[0].get(key, _ZERO)
            for index, day in enumerate(days, start=1):
                state = states[index].get(key)
                if state is None:
                    continue  # not open yet on that day (as recorded at T)
                row_key = (key, day.isoformat())
                # only the resumed account's earlier days are skipped (the database's
                # collation orders the keys, so they are not compared here)
                if resume is None or key != resume[0] or row_key[1] > resume[1]:
                    yield (
                        row_key,
                        (
                            key,
                            currency,
                            day,
                            money(previous[0], currency),
                            money(state[1] - previous[1], currency),
                            money(state[2] - previous[2], currency),
                            money(state[0], currency),
                        ),
                    )
                previous = state
        position = accounts[-1][0]


def _accounts(
    engine: Engine, params: dict[str, Any], position: str | None, inclusive: bool
) -> list[tuple[str, str]]:
    query = select(_A.c.key, _A.c.currency)
    if params.get("account") is not None:
        query = query.where(_A.c.id == str(account_id(params["account"])))
    if params.get("currency") is not None:
        query = query.where(_A.c.currency == params["currency"])
    if position is not None:
        query = query.where(_A.c.key >= position if inclusive else _A.c.key > position)
    with engine.connect() as conn:
        found = conn.execute(query.order_by(_A.c.key).limit(CHUNK)).all()
    return [(str(row.key), str(row.currency)) for row in found]


def _states(
    engine: Engine, accounts: list[tuple[str, str]], days: list[date], as_of: datetime
) -> list[dict[str, tuple[Decimal, Decimal, Decimal]]]:
    """Per instant (the opening, then each day's end, capped at T) each account's
    (balance, debits total, credits total) then; accounts not open then are absent."""
    ids = [str(account_id(key)) for key, _ in accounts]
    instants = [day_start(days[0]) - MICROSECOND]
    instants += [min(day_start(day + timedelta(days=1)) - MICROSECOND, as_of) for day in days]
    result: list[dict[str, tuple[Decimal, Decimal, Decimal]]] = []
    with engine.connect() as conn:
        for instant in instants:
            found = history_as_of(conn, instant, _A.c.id.in_(ids))
            result.append(
                {
                    row["key"]: (row["balance"], row["debits_total"], row["credits_total"])
                    for row in found
                }
            )
    return result
