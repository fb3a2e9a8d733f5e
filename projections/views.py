"""What the read-model queries return: plain frozen dataclasses.

This module is the contract between the read side (``projections``) and the
entry points (``api``): GraphQL types and REST responses are built from these,
never from tables or aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list: ``(cursor, item)`` pairs in order."""

    edges: list[tuple[str, T]]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1][0] if self.edges else None


@dataclass(frozen=True)
class AccountView:
    id: str  # aggregate UUID
    key: str  # IBAN (compact) or internal code such as "clearing:EUR"
    iban: str | None  # set for customer accounts
    holder_name: str
    currency: str
    status: str  # OPEN | FROZEN | CLOSED
    type: str  # CUSTOMER | INTERNAL
    balance: Decimal
    held: Decimal
    overdraft_limit: Decimal | None  # None: unlimited (internal accounts)
    opened_at: datetime
    updated_at: datetime  # recorded-at of the last event reflected here

    @property
    def available(self) -> Decimal:
        return self.balance - self.held


@dataclass(frozen=True)
class PostingView:
    account_key: str
    transaction_id: str
    amount: Decimal  # signed: negative = debit, positive = credit
    balance_after: Decimal  # running balance of the account after this posting
    currency: str
    recorded_at: datetime
    account_version: int  # version of the account event that made the posting


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class TransactionView:
    id: str
    external_id: str
    channel: str
    status: str
    amount: Decimal
    currency: str
    debtor_iban: str
    debtor_name: str
    creditor_iban: str
    creditor_name: str
    reference: str
    requested_at: datetime | None
    received_at: datetime
    updated_at: datetime
    rejection_reason: str | None = None
    rejection_detail: str | None = None
    screening_outcome: str | None = None
    rule_hits: list[str] = field(default_factory=list)
    reverses: str | None = None
    reversed_by: str | None = None


@dataclass(frozen=True)
class TransactionFilter:
    account: str | None = None  # IBAN or internal code: debtor or creditor
    status: str | None = None
    channel: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    from_: datetime | None = None  # received_at >= from_
    to: datetime | None = None  # received_at <= to


@dataclass(frozen=True)
class AuditEventView:
    context: str  # bounded context (application name), e.g. "ledger"
    position: int  # notification id in that context's log
    stream_id: str  # aggregate id
    stream_type: str  # aggregate class name, e.g. "Account"
    event_type: str  # e.g. "Account.Debited"
    version: int
    recorded_at: datetime
    actor: str
    correlation_id: str
    channel: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class TrialBalanceLine:
    account_key: str
    type: str
    currency: str
    balance: Decimal


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    debits: Decimal  # sum of debit postings, as a positive number
    credits: Decimal  # sum of credit postings
    balance_sum: Decimal  # sum of account balances; zero in a sound ledger


@dataclass(frozen=True)
class TrialBalanceView:
    as_of: datetime | None
    lines: list[TrialBalanceLine]
    totals: list[CurrencyTotals]


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int  # last notification id processed
    head: int  # last notification id in the source log
    updated_at: datetime | None
    context: str | None = None  # the source log (bounded context) this position is in

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)
