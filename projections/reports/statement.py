"""A customer account statement as of T: the account's opening booked balance (``OPBD``, at
the start of ``from``), its closing booked balance (``CLBD``, at the end of ``to`` or at T),
then every posting booked in the period and recorded by T, in recording order (the journal's
rows of that account). The balances come first because camt.053 puts them before the entries.

An account that did not exist at T yields no rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from domain.ledger.ids import account_id
from projections.ledger.account_queries import history_as_of
from projections.ledger.tables import rm_accounts
from projections.reports import journal
from projections.reports.common import MICROSECOND, Key, Row, day_start, money

KEY_TYPES = (int, datetime, str, int)
OPENING, CLOSING, ENTRY = 0, 1, 2
_NO_TIME = datetime(1900, 1, 1, tzinfo=UTC)


def rows(
    engine: Engine, params: dict[str, Any], as_of: datetime, resume: Key | None
) -> Iterator[Row]:
    """The statement's rows after ``resume`` ((kind, recorded at, account id, version))."""
    key: str = params["account"]
    aid = str(account_id(key))
    opening_at = min(day_start(params["from"]) - MICROSECOND, as_of)
    closing_at = min(day_start(params["to"] + timedelta(days=1)) - MICROSECOND, as_of)
    with engine.connect() as conn:
        then = history_as_of(conn, closing_at, rm_accounts.c.id == aid)
        before = history_as_of(conn, opening_at, rm_accounts.c.id == aid)
    if not then:
        return
    state = then[0]
    currency, holder = state["currency"], state["holder_name"]
    opening = before[0]["balance"] if before else 0
    resumed = resume[0] if resume is not None else -1
    for kind, balance, day in (
        (OPENING, opening, params["from"]),
        (CLOSING, state["balance"], closing_at.date()),
    ):
        if kind > resumed:
            yield (
                (kind, _NO_TIME, "", 0),
                (
                    "OPBD" if kind == OPENING else "CLBD",
                    key,
                    holder,
                    currency,
                    day,
                    None,
                    None,
                    None,
                    money(balance, currency),
                    None,
                    None,
                ),
            )
    after = tuple(resume[1:]) if resume is not None and resume[0] == ENTRY else None
    for (at, posting_account, version), values in journal.rows(engine, params, as_of, after):
        (recorded, booked, tx, _, ccy, amount, balance, _, external_id, reference) = values
        yield (
            (ENTRY, at, posting_account, version),
            (
                "entry",
                key,
                holder,
                ccy,
                booked,
                recorded,
                tx,
                amount,
                balance,
                external_id,
                reference,
            ),
        )
