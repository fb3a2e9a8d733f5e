"""Queries over the read models, returning the dataclasses of :mod:`projections.views`.

Point in time ("as of T" = as recorded at T) is answered from the history
tables by index lookups, never by replaying streams. Lists are keyset
paginated: a cursor names the sort key of the last row of a page; an invalid
cursor raises ``ValueError("invalid cursor")``. ``first`` is clamped to 1..500.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    false,
    or_,
    select,
)

from domain.ledger.ids import account_id
from projections import cursors
from projections.events import as_utc, quantize
from projections.paging import before, fetch_page
from projections.tables import (
    rm_account_history,
    rm_accounts,
    rm_audit_events,
    rm_postings,
    rm_transaction_status,
    rm_transactions,
)
from projections.views import (
    AccountView,
    AuditEventView,
    CurrencyTotals,
    Page,
    PostingView,
    StatusChange,
    TransactionFilter,
    TransactionView,
    TrialBalanceLine,
    TrialBalanceView,
)

MAX_PAGE = 500
_IN_CHUNK = 5000
_A = rm_accounts
_H = rm_account_history
_P = rm_postings
_TX = rm_transactions
_S = rm_transaction_status
_AU = rm_audit_events


def clamp(first: int) -> int:
    return max(1, min(int(first), MAX_PAGE))


def normalise_key(key: str) -> str:
    """The stored form of an account key: compact upper-case IBAN, or ``kind:CCY``."""
    key = key.strip()
    kind, sep, currency = key.partition(":")
    if sep:
        return f"{kind.strip().lower()}:{currency.strip().upper()}"
    return "".join(key.split()).upper()


class LedgerQueries:
    """Read-only queries; every method opens and closes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- accounts --------------------------------------------------------------------

    def account(self, key: str, as_of: datetime | None = None) -> AccountView | None:
        """The account with this IBAN or internal code, now or as recorded at ``as_of``."""
        aid = str(account_id(normalise_key(key)))
        as_of = _utc(as_of)
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
        as_of = _utc(as_of)
        ids: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            ids[str(account_id(normalise_key(key)))].append(key)
        result: dict[str, AccountView] = {}
        if not ids:
            return result
        wanted = sorted(ids)
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
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
        as_of = _utc(as_of)
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

    # -- transactions ----------------------------------------------------------------

    def transaction(self, tx_id: str, as_of: datetime | None = None) -> TransactionView | None:
        """The transaction now, or as recorded at ``as_of`` (None if received after it)."""
        as_of = _utc(as_of)
        with self.engine.connect() as conn:
            row = conn.execute(select(_TX).where(_TX.c.id == str(tx_id))).mappings().first()
            if row is None:
                return None
            if as_of is None:
                return _transaction_view(row)
            if row["received_at"] > as_of:
                return None
            changes = (
                conn.execute(
                    select(_S)
                    .where(_S.c.transaction_id == str(tx_id), _S.c.at <= as_of)
                    .order_by(_S.c.seq)
                )
                .mappings()
                .all()
            )
        return _transaction_as_of(row, changes)

    def transactions_by_ids(
        self, ids: Sequence[str], as_of: datetime | None = None
    ) -> dict[str, TransactionView]:
        """Transactions by id, now (one query) or as of T (two); missing ids are absent."""
        as_of = _utc(as_of)
        wanted = sorted({str(i) for i in ids})
        result: dict[str, TransactionView] = {}
        if not wanted:
            return result
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                query = select(_TX).where(_TX.c.id.in_(chunk))
                if as_of is None:
                    for row in conn.execute(query).mappings():
                        result[row["id"]] = _transaction_view(row)
                    continue
                rows = conn.execute(query.where(_TX.c.received_at <= as_of)).mappings().all()
                changes: dict[str, list[Any]] = defaultdict(list)
                status_query = (
                    select(_S)
                    .where(_S.c.transaction_id.in_([r["id"] for r in rows]), _S.c.at <= as_of)
                    .order_by(_S.c.transaction_id, _S.c.seq)
                )
                if rows:
                    for change in conn.execute(status_query).mappings():
                        changes[change["transaction_id"]].append(change)
                for row in rows:
                    result[row["id"]] = _transaction_as_of(row, changes[row["id"]])
        return result

    def status_history(
        self, tx_ids: Sequence[str], as_of: datetime | None = None
    ) -> dict[str, list[StatusChange]]:
        """Status changes per transaction in order (empty list for unknown ids), in one query."""
        as_of = _utc(as_of)
        wanted = sorted({str(i) for i in tx_ids})
        result: dict[str, list[StatusChange]] = {i: [] for i in wanted}
        if not wanted:
            return result
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                query = select(_S).where(_S.c.transaction_id.in_(chunk))
                if as_of is not None:
                    query = query.where(_S.c.at <= as_of)
                query = query.order_by(_S.c.transaction_id, _S.c.seq)
                for row in conn.execute(query).mappings():
                    result[row["transaction_id"]].append(_status_change(row))
        return result

    def transactions(
        self,
        filter: TransactionFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Page[TransactionView]:
        """Transactions matching ``filter``, newest first (received-at desc, then id desc)."""
        limit = clamp(first)
        flt = filter or TransactionFilter()
        query = select(_TX)
        conditions: list[ColumnElement[bool]] = []
        if flt.account is not None:
            key = normalise_key(flt.account)
            conditions.append(
                or_(
                    _TX.c.debtor_iban == key,
                    _TX.c.creditor_iban == key,
                    _TX.c.debit_account == key,
                    _TX.c.credit_account == key,
                )
            )
        if flt.status is not None:
            conditions.append(_TX.c.status == flt.status.upper())
        if flt.channel is not None:
            conditions.append(_TX.c.channel == flt.channel.upper())
        if flt.min_amount is not None and flt.min_amount > 0:
            conditions.append(_TX.c.amount >= Decimal(flt.min_amount))
        if flt.max_amount is not None:
            if flt.max_amount < 0:
                conditions.append(false())
            else:
                conditions.append(_TX.c.amount <= Decimal(flt.max_amount))
        if flt.from_ is not None:
            conditions.append(_TX.c.received_at >= as_utc(flt.from_))
        if flt.to is not None:
            conditions.append(_TX.c.received_at <= as_utc(flt.to))
        if after is not None:
            at, last_id = cursors.decode(after, "transaction", datetime, str)
            conditions.append(before(_TX.c.received_at, _TX.c.id, at, last_id))
        if conditions:
            query = query.where(and_(*conditions))
        return fetch_page(
            self.engine,
            query.order_by(_TX.c.received_at.desc(), _TX.c.id.desc()),
            limit,
            _transaction_view,
            lambda view: cursors.encode("transaction", view.received_at, view.id),
        )

    # -- audit -----------------------------------------------------------------------

    def audit_trail(
        self,
        stream_id: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        first: int = 50,
        after: str | None = None,
        contexts: Collection[str] | None = None,
    ) -> Page[AuditEventView]:
        """Every recorded event, oldest first, ordered by (recorded-at, context, position);
        only those of ``contexts`` when given (the contexts the reader may read)."""
        limit = clamp(first)
        query = select(_AU)
        if contexts is not None:
            query = query.where(_AU.c.context.in_(sorted(contexts)))
        if stream_id is not None:
            query = query.where(_AU.c.stream_id == str(stream_id))
        if from_ is not None:
            query = query.where(_AU.c.recorded_at >= as_utc(from_))
        if to is not None:
            query = query.where(_AU.c.recorded_at <= as_utc(to))
        if after is not None:
            at, context, position = cursors.decode(after, "audit", datetime, str, int)
            query = query.where(
                _AU.c.recorded_at >= at,
                or_(
                    _AU.c.recorded_at > at,
                    _AU.c.context > context,
                    and_(_AU.c.context == context, _AU.c.position > position),
                ),
            )
        return fetch_page(
            self.engine,
            query.order_by(_AU.c.recorded_at, _AU.c.context, _AU.c.position),
            limit,
            _audit_view,
            lambda view: cursors.encode("audit", view.recorded_at, view.context, view.position),
        )

    # -- trial balance ---------------------------------------------------------------

    def trial_balance(
        self, as_of: datetime | None = None, currency: str | None = None
    ) -> TrialBalanceView:
        """Balance of every account (as of T), per-currency debit/credit totals and balance sums.

        As of T, each account's state is its latest history row at or before T:
        one index lookup per account (correlated subquery on the as-of index).
        """
        as_of = _utc(as_of)
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


def _supports_materialized(conn: Connection) -> bool:
    version = conn.dialect.server_version_info or ()
    if conn.dialect.name == "sqlite":
        return tuple(version) >= (3, 35)
    return conn.dialect.name == "postgresql" and tuple(version) >= (12,)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


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


def _transaction_view(row: Mapping[Any, Any]) -> TransactionView:
    currency = row["currency"]
    return TransactionView(
        id=row["id"],
        external_id=row["external_id"],
        channel=row["channel"],
        status=row["status"],
        amount=quantize(row["amount"], currency),
        currency=currency,
        debtor_iban=row["debtor_iban"],
        debtor_name=row["debtor_name"],
        creditor_iban=row["creditor_iban"],
        creditor_name=row["creditor_name"],
        reference=row["reference"],
        requested_at=row["requested_at"],
        received_at=row["received_at"],
        updated_at=row["updated_at"],
        rejection_reason=row["rejection_reason"],
        rejection_detail=row["rejection_detail"],
        screening_outcome=row["screening_outcome"],
        rule_hits=list(row["rule_hits"] or []),
        reverses=row["reverses"],
        reversed_by=row["reversed_by"],
    )


def _transaction_as_of(
    row: Mapping[Any, Any], changes: Sequence[Mapping[Any, Any]]
) -> TransactionView:
    """The current row wound back to its last status change at or before T."""
    state = dict(row)
    statuses = [c["status"] for c in changes]
    last = changes[-1] if changes else None
    state["status"] = last["status"] if last is not None else "RECEIVED"
    state["updated_at"] = last["at"] if last is not None else row["received_at"]
    if "SCREENED" not in statuses:
        state["screening_outcome"] = None
        state["rule_hits"] = []
    if state["status"] != "REJECTED":
        state["rejection_reason"] = None
        state["rejection_detail"] = None
    if state["status"] != "REVERSED":
        state["reversed_by"] = None
    return _transaction_view(state)


def _status_change(row: Mapping[Any, Any]) -> StatusChange:
    return StatusChange(status=row["status"], at=row["at"], reason=row["reason"])


def _audit_view(row: Mapping[Any, Any]) -> AuditEventView:
    return AuditEventView(
        context=row["context"],
        position=int(row["position"]),
        stream_id=row["stream_id"],
        stream_type=row["stream_type"],
        event_type=row["event_type"],
        version=row["version"],
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        correlation_id=row["correlation_id"],
        channel=row["channel"],
        payload=dict(row["payload"]),
    )
