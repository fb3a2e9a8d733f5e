"""The ledger's account queries: an account now or as of T, accounts by key, the list of
accounts, an account's postings, and the trial balance.

Point in time ("as of T" = as recorded at T) is answered from ``rm_account_history`` by index
lookups, never by replaying streams. Lists are keyset paginated (:mod:`projections.paging`):
a cursor names the sort key of the last row of a page; an invalid cursor raises
``ValueError("invalid cursor")``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, select

from domain.ledger.ids import account_id
from projections import cursors
from projections.events import as_utc, quantize
from projections.ledger.tables import rm_account_history, rm_accounts, rm_postings
from projections.ledger.views import (
    AccountView,
    CurrencyTotals,
    PostingView,
    TrialBalanceLine,
    TrialBalanceView,
)
from projections.paging import IN_CHUNK, before, clamp, fetch_page
from projections.views import Page

_A = rm_accounts
_H = rm_account_history
_P = rm_postings


def normalise_key(key: str) -> str:
    """The stored form of an account key: compact upper-case IBAN, or ``kind:CCY``."""
    key = key.strip()
    kind, sep, currency = key.partition(":")
    if sep:
        return f"{kind.strip().lower()}:{currency.strip().upper()}"
    return "".join(key.split()).upper()


def utc_or_none(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime, or None."""
    return None if value is None else as_utc(value)


class AccountQueries:
    """Read-only account queries; every method opens and closes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- accounts --------------------------------------------------------------------

    def account(self, key: str, as_of: datetime | None = None) -> AccountView | None:
        """The account with this IBAN or internal code, now or as recorded at ``as_of``."""
        aid = str(account_id(normalise_key(key)))
        as_of = utc_or_none(as_of)
        if as_of is None:
            query: Select[Any] = select(_A).where(_A.c.id == aid)
        else:
            query = (
                select(_H)
                .where(_H.c.account_id == aid, _H.c.recorded_at <= as_of)
                .order_by(_H.c.recorded_at.desc(), _H.c.version.desc())
                .limit(1)
            )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return _account_view(row) if as_of is None else _history_view(row)

    def accounts_by_keys(
        self, keys: Sequence[str], as_of: datetime | None = None
    ) -> dict[str, AccountView]:
        """Accounts by IBAN or internal code, now or as of T, in one query (for a DataLoader).

        The result is keyed by the keys as given; keys with no account (then) are absent.
        """
        as_of = utc_or_none(as_of)
        ids: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            ids[str(account_id(normalise_key(key)))].append(key)
        result: dict[str, AccountView] = {}
        if not ids:
            return result
        wanted = sorted(ids)
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                if as_of is None:
                    rows = conn.execute(select(_A).where(_A.c.id.in_(chunk))).mappings().all()
                    views = [_account_view(row) for row in rows]
                else:
                    history = _history_as_of(conn, as_of, _A.c.id.in_(chunk))
                    views = [_history_view(row) for row in history]
                for view in views:
                    for key in ids[view.id]:
                        result[key] = view
        return result

    def accounts(
        self, first: int = 50, after: str | None = None, status: str | None = None
    ) -> Page[AccountView]:
        """Accounts ordered by key."""
        limit = clamp(first)
        query = select(_A)
        if status is not None:
            query = query.where(_A.c.status == status.upper())
        if after is not None:
            (last_key,) = cursors.decode(after, "account", str)
            query = query.where(_A.c.key > last_key)
        return fetch_page(
            self.engine,
            query.order_by(_A.c.key),
            limit,
            _account_view,
            lambda view: cursors.encode("account", view.key),
        )

    def postings(
        self,
        account_key: str,
        first: int = 50,
        after: str | None = None,
        as_of: datetime | None = None,
    ) -> Page[PostingView]:
        """An account's postings, newest first, with the running balance after each."""
        limit = clamp(first)
        as_of = utc_or_none(as_of)
        aid = str(account_id(normalise_key(account_key)))
        query = select(_P).where(_P.c.account_id == aid)
        if as_of is not None:
            query = query.where(_P.c.recorded_at <= as_of)
        if after is not None:
            at, version = cursors.decode(after, "posting", datetime, int)
            query = query.where(before(_P.c.recorded_at, _P.c.version, at, version))
        return fetch_page(
            self.engine,
            query.order_by(_P.c.recorded_at.desc(), _P.c.version.desc()),
            limit,
            _posting_view,
            lambda view: cursors.encode("posting", view.recorded_at, view.account_version),
        )

    # -- trial balance ---------------------------------------------------------------

    def trial_balance(
        self, as_of: datetime | None = None, currency: str | None = None
    ) -> TrialBalanceView:
        """Balance of every account (as of T), per-currency debit/credit totals and balance sums.

        As of T, each account's state is its latest history row at or before T:
        one index lookup per account (correlated subquery on the as-of index).
        """
        as_of = utc_or_none(as_of)
        ccy = currency.strip().upper() if currency is not None else None
        with self.engine.connect() as conn:
            if as_of is None:
                query = select(_A)
                if ccy is not None:
                    query = query.where(_A.c.currency == ccy)
                rows: Sequence[Mapping[Any, Any]] = conn.execute(query).mappings().all()
            else:
                rows = _history_as_of(conn, as_of, _A.c.currency == ccy if ccy else None)
        lines: list[TrialBalanceLine] = []
        sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
        for row in rows:
            cur, balance = row["currency"], row["balance"]
            lines.append(TrialBalanceLine(row["key"], row["type"], cur, quantize(balance, cur)))
            acc = sums[cur]
            acc[0] += row["debits_total"]
            acc[1] += row["credits_total"]
            acc[2] += balance
        lines.sort(key=lambda line: (line.currency, line.account_key))
        totals = [
            CurrencyTotals(
                currency=cur,
                debits=quantize(values[0], cur),
                credits=quantize(values[1], cur),
                balance_sum=quantize(values[2], cur),
            )
            for cur, values in sorted(sums.items())
        ]
        return TrialBalanceView(as_of=as_of, lines=lines, totals=totals)


# ------------------------------------------------------------------------------ helpers


def _history_as_of(
    conn: Connection, as_of: datetime, accounts: ColumnElement[bool] | None
) -> list[Mapping[Any, Any]]:
    """The latest history row at or before ``as_of`` of every account matching ``accounts``.

    A materialised CTE fixes the plan on both backends: one index lookup per
    account for its version as of T, then a primary-key lookup of that row
    (never a scan of the whole history).
    """
    latest = (
        select(_H.c.version)
        .where(_H.c.account_id == _A.c.id, _H.c.recorded_at <= as_of)
        .order_by(_H.c.recorded_at.desc(), _H.c.version.desc())
        .limit(1)
        .correlate(_A)
        .scalar_subquery()
    )
    versions = select(_A.c.id.label("account_id"), latest.label("version"))
    if accounts is not None:
        versions = versions.where(accounts)
    cte = versions.cte("as_of_versions")
    if _supports_materialized(conn):
        cte = cte.prefix_with("MATERIALIZED")
    query = select(_H).select_from(
        cte.join(_H, and_(_H.c.account_id == cte.c.account_id, _H.c.version == cte.c.version))
    )
    return list(conn.execute(query).mappings().all())


history_as_of = _history_as_of
"""Public name of :func:`_history_as_of`, for the reports' read side (projections/reports)."""


def _supports_materialized(conn: Connection) -> bool:
    version = conn.dialect.server_version_info or ()
    if conn.dialect.name == "sqlite":
        return tuple(version) >= (3, 35)
    return conn.dialect.name == "postgresql" and tuple(version) >= (12,)


def _account_view(row: Mapping[Any, Any]) -> AccountView:
    currency = row["currency"]
    limit = row["overdraft_limit"]
    return AccountView(
        id=row["id"],
        key=row["key"],
        iban=row["iban"],
        holder_name=row["holder_name"],
        currency=currency,
        status=row["status"],
        type=row["type"],
        balance=quantize(row["balance"], currency),
        held=quantize(row["held"], currency),
        overdraft_limit=None if limit is None else quantize(limit, currency),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
    )


def _history_view(row: Mapping[Any, Any]) -> AccountView:
    return _account_view({**row, "id": row["account_id"], "updated_at": row["recorded_at"]})


def _posting_view(row: Mapping[Any, Any]) -> PostingView:
    currency = row["currency"]
    return PostingView(
        account_key=row["account_key"],
        transaction_id=row["transaction_id"],
        amount=quantize(row["amount"], currency),
        balance_after=quantize(row["balance_after"], currency),
        currency=currency,
        recorded_at=row["recorded_at"],
        account_version=row["version"],
    )
