"""The trial balance as of T, streamed: every account that existed at T, ordered by
(currency, account key), each currency closed by a TOTAL row of its debits, credits and
balance sum, which double entry makes zero (the row's ``check`` says ``balanced``, or
``UNBALANCED`` when the books do not balance).

Accounts are read in chunks of :data:`CHUNK` by key from ``rm_accounts`` (its currency/key
index), and each chunk's state as of T from ``rm_account_history`` (one index lookup per
account). Resuming after a cursor inside a currency re-reads that currency's earlier accounts
to carry its totals (without yielding them): a TOTAL row is always over the whole currency.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from projections.ledger.account_queries import history_as_of
from projections.ledger.tables import rm_accounts
from projections.reports.common import Key, Row, after, money

CHUNK = 1000
LINE, TOTAL = 0, 1
KEY_TYPES = (str, int, str)
_A = rm_accounts


def rows(
    engine: Engine, params: dict[str, Any], as_of: datetime, resume: Key | None
) -> Iterator[Row]:
    """The trial balance's rows after ``resume`` (a row key, or None for all)."""
    currency: str | None = params.get("currency")
    position: tuple[str, str] | None = None  # (currency, key) of the last account read
    skip_until: Key | None = None  # a line's key: rows up to it were on earlier pages
    only_after: str | None = None  # a TOTAL's currency: resume with the next currency
    if resume is not None:
        ccy, kind, _ = resume
        if kind == TOTAL:
            only_after = ccy
        else:
            position, skip_until = (ccy, ""), resume  # re-read the currency for its totals
    sums: dict[str, list[Decimal]] = {}
    current: str | None = None
    while True:
        chunk = _accounts(engine, as_of, currency, position, only_after)
        if not chunk:
            break
        for row in chunk:
            ccy, key = row["currency"], row["key"]
            if current is not None and ccy != current:
                yield _total(current, sums.pop(current))
            current = ccy
            acc = sums.setdefault(ccy, [Decimal(0)] * 3)
            acc[0] += row["debits_total"]
            acc[1] += row["credits_total"]
            acc[2] += row["balance"]
            line_key = (ccy, LINE, key)
            if skip_until is not None:
                # equality, not "<=": the database's collation orders keys, not Python's
                if line_key == skip_until:
                    skip_until = None
                continue
            yield (
                line_key,
                (
                    ccy,
                    "line",
                    key,
                    row["type"],
                    money(row["debits_total"], ccy),
                    money(row["credits_total"], ccy),
                    money(row["balance"], ccy),
                    None,
                ),
            )
        last = chunk[-1]
        position = (last["currency"], last["key"])
    if current is not None:
        yield _total(current, sums.pop(current))


def _total(currency: str, values: list[Decimal]) -> Row:
    debits, credits, balance = (money(v, currency) for v in values)
    balanced = balance == 0 and debits == credits
    check = "balanced" if balanced else "UNBALANCED"
    return (currency, TOTAL, ""), (currency, "TOTAL", None, None, debits, credits, balance, check)


def _accounts(
    engine: Engine,
    as_of: datetime,
    currency: str | None,
    position: tuple[str, str] | None,
    only_after: str | None,
) -> list[Any]:
    """The next chunk of accounts after ``position`` that existed at T, with their state then,
    in (currency, key) order. A chunk where no account existed yet moves on to the next."""
    while True:
        query = select(_A.c.id, _A.c.currency, _A.c.key)
        if currency is not None:
            query = query.where(_A.c.currency == currency)
        if only_after is not None:
            query = query.where(_A.c.currency > only_after)
        if position is not None:
            query = query.where(after([_A.c.currency, _A.c.key], position))
        with engine.connect() as conn:
            ids = conn.execute(query.order_by(_A.c.currency, _A.c.key).limit(CHUNK)).all()
            if not ids:
                return []
            found = history_as_of(conn, as_of, _A.c.id.in_([r.id for r in ids]))
        by_id = {row["account_id"]: row for row in found}
        chunk = [by_id[r.id] for r in ids if r.id in by_id]
        if chunk:
            return chunk
        position = (ids[-1].currency, ids[-1].key)
