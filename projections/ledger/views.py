"""What the ledger's queries return: accounts, postings, transactions with their status
changes, and the trial balance, as plain frozen dataclasses (the contract with ``api``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


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
    detail: str | None = None
    """What the change was about (e.g. the two steps of a two-step posting)."""


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
    vop_check_id: str | None = None


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
