"""A large book for the report benchmark, written straight into the read-model tables.

Booking a million postings through the event store takes far longer than the report that
reads them (and the reports read only the read models), so this bulk path writes the rows the
ledger's projections would have written for the same payments: ``rm_accounts``,
``rm_account_history`` (one row per posting, with running balance and cumulative totals),
``rm_postings`` and ``rm_transactions``. On PostgreSQL with ``COPY``, on SQLite with batched
inserts. Every payment goes from ``clearing:EUR`` to one of ``accounts`` customer accounts,
spread evenly over ``days`` days, so the book balances (the trial balance's totals are zero).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import Engine, Table, insert

from adapters.persistence import DatabaseConfig
from domain.ledger.ids import account_id
from projections.ledger.tables import rm_account_history, rm_accounts, rm_postings, rm_transactions
from projections.runner.registry import READ_MODEL_TABLES
from projections.tables import metadata

START = datetime(2026, 10, 1, tzinfo=UTC)
CLEARING = "clearing:EUR"


@dataclass
class _Account:
    key: str
    type: str
    holder: str
    version: int = 1
    balance: Decimal = Decimal(0)
    debits: Decimal = Decimal(0)
    credits: Decimal = Decimal(0)

    @property
    def id(self) -> str:
        return str(account_id(self.key))

    def post(self, amount: Decimal) -> None:
        self.version += 1
        self.balance += amount
        if amount < 0:
            self.debits -= amount
        else:
            self.credits += amount

    def state(self, at: datetime, event: str) -> dict[str, Any]:
        return {
            "account_id": self.id,
            "version": self.version,
            "recorded_at": at,
            "event_type": event,
            "key": self.key,
            "iban": None if ":" in self.key else self.key,
            "holder_name": self.holder,
            "currency": "EUR",
            "status": "ACTIVE",
            "type": self.type,
            "balance": self.balance,
            "held": Decimal(0),
            "overdraft_limit": None,
            "debits_total": self.debits,
            "credits_total": self.credits,
            "opened_at": START,
        }


def _rows(postings: int, accounts: int, days: int) -> Iterator[tuple[Table, dict[str, Any]]]:
    clearing = _Account(CLEARING, "CLEARING", "Clearing EUR")
    customers = [_Account(f"DE{n:020d}", "CUSTOMER", f"Holder {n}") for n in range(accounts)]
    for account in (clearing, *customers):
        yield rm_account_history, account.state(START, "Account.Opened")
    payments = postings // 2
    step = timedelta(days=days) / max(payments, 1)
    for n in range(payments):
        at = START + timedelta(seconds=1) + step * n
        amount = Decimal((n * 7919) % 100_000 + 1).scaleb(-2)
        customer = customers[n % accounts]
        tx = str(uuid.UUID(int=n + 1))
        yield (
            rm_transactions,
            {
                "id": tx,
                "external_id": f"B{n}",
                "channel": "SEPA" if n % 2 else "MOBILE",
                "status": "POSTED",
                "amount": amount,
                "currency": "EUR",
                "debtor_iban": "FR7630006000011234567890189",
                "debtor_name": "Outside payer",
                "creditor_iban": customer.key,
                "creditor_name": customer.holder,
                "reference": f"invoice {n}",
                "received_at": at,
                "updated_at": at,
                "version": 2,
                "booking_date": at.date().isoformat(),
                "debit_account": CLEARING,
                "credit_account": customer.key,
            },
        )
        for account, signed, event in (
            (clearing, -amount, "Debited"),
            (customer, amount, "Credited"),
        ):
            account.post(signed)
            yield (
                rm_postings,
                {
                    "account_id": account.id,
                    "version": account.version,
                    "account_key": account.key,
                    "transaction_id": tx,
                    "amount": signed,
                    "balance_after": account.balance,
                    "currency": "EUR",
                    "booking_date": at.date().isoformat(),
                    "recorded_at": at,
                },
            )
            yield rm_account_history, account.state(at, f"Account.{event}")
    end = START + timedelta(days=days)
    for account in (clearing, *customers):
        state = account.state(end, "")
        yield (
            rm_accounts,
            {
                "id": account.id,
                "key": account.key,
                "iban": state["iban"],
                "holder_name": account.holder,
                "currency": "EUR",
                "status": "ACTIVE",
                "type": account.type,
                "balance": account.balance,
                "held": Decimal(0),
                "overdraft_limit": None,
                "debits_total": account.debits,
                "credits_total": account.credits,
                "opened_at": START,
                "updated_at": end,
                "version": account.version,
            },
        )


def build_book(
    config: DatabaseConfig,
    engine: Engine,
    postings: int,
    accounts: int,
    days: int = 30,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create the read-model tables and fill them with ``postings`` postings; answers the
    number of rows written (all tables)."""
    metadata.create_all(engine, tables=list(READ_MODEL_TABLES))
    rows = _rows(postings, accounts, days)
    if config.url is None:
        return _insert_batches(engine, rows, progress)
    return _copy(config, rows, progress)


def _copy(
    config: DatabaseConfig,
    rows: Iterator[tuple[Table, dict[str, Any]]],
    progress: Callable[[int], None] | None,
) -> int:
    assert config.url is not None
    tables = (rm_transactions, rm_postings, rm_account_history, rm_accounts)
    count = 0
    by_table: dict[str, list[dict[str, Any]]] = {t.name: [] for t in tables}  # a COPY each
    with psycopg.connect(config.url, autocommit=True) as conn:
        if config.schema:
            conn.execute(f'SET search_path TO "{config.schema}"')
        for table, row in rows:
            batch = by_table[table.name]
            batch.append(row)
            if len(batch) >= 50_000:
                count += _copy_batch(conn, table, batch)
                batch.clear()
                if progress is not None:
                    progress(count)
        for table in tables:
            count += _copy_batch(conn, table, by_table[table.name])
        for table in tables:
            conn.execute(f"ANALYZE {table.name}")  # plans on fresh statistics, as autovacuum would
    return count


def _copy_batch(conn: psycopg.Connection[Any], table: Table, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    names = [c.name for c in table.columns]
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in batch:
            copy.write_row([row.get(name) for name in names])
    return len(batch)


def _insert_batches(
    engine: Engine,
    rows: Iterator[tuple[Table, dict[str, Any]]],
    progress: Callable[[int], None] | None,
) -> int:
    count = 0
    batches: dict[str, tuple[Table, list[dict[str, Any]]]] = {}
    with engine.begin() as conn:
        for table, row in rows:
            _, batch = batches.setdefault(table.name, (table, []))
            full = {c.name: row.get(c.name) for c in table.columns}
            batch.append(full)
            if len(batch) >= 20_000:
                conn.execute(insert(table), batch)
                count += len(batch)
                batch.clear()
                if progress is not None:
                    progress(count)
        for table, batch in batches.values():
            if batch:
                conn.execute(insert(table), batch)
                count += len(batch)
    return count
