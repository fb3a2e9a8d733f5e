"""Ledger accounts: customer accounts (by IBAN) and internal accounts (by code).

Balance convention: ``balance = credits - debits``. A debit takes money out of
an account, a credit puts it in. Internal accounts (``clearing:EUR`` ...) may
run negative without limit: the clearing account is the counterpart of every
payment that leaves or enters the bank, which keeps the sum of all balances of
one currency at zero.

Because an internal account needs no balance check at write time, a payment does
not load or write its aggregate (which every payment would then version-check: one
hot spot for all writers). Its legs are recorded in the transaction's ``Posted``
event only, and its balance, postings and history are projected from those legs
(:func:`balance_is_projected`). The aggregate is opened once and carries what is
not per payment (its opening; holds and debits/credits of logs written before).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import (
    AccountStateError,
    InvalidAccountCode,
    InvalidMoney,
    PostingRefused,
    RejectionReason,
)
from domain.iban import Iban
from domain.ledger.holders import HolderDetails, check_name
from domain.ledger.ids import account_id
from domain.money import check_currency, parse_amount

INTERNAL_KINDS = ("clearing", "suspense", "fees", "in-transit")


def balance_is_projected(key: str) -> bool:
    """Whether the account ``key`` (IBAN or internal code) is an internal account, whose
    balance is the sum of the ``Posted`` legs naming it rather than its aggregate's state."""
    kind, sep, _ = key.partition(":")
    return bool(sep) and kind in INTERNAL_KINDS


class AccountStatus(StrEnum):
    OPEN = "OPEN"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"


class AccountType(StrEnum):
    CUSTOMER = "CUSTOMER"
    INTERNAL = "INTERNAL"


def internal_code(kind: str, currency: str) -> str:
    """The code of an internal account, e.g. ``clearing:EUR``."""
    if kind not in INTERNAL_KINDS:
        raise InvalidAccountCode(f"unknown internal account kind {kind!r}")
    return f"{kind}:{check_currency(currency)}"


def parse_internal_code(code: str) -> tuple[str, str]:
    """Split ``clearing:EUR`` into ``("clearing", "EUR")``, validating both parts."""
    kind, sep, currency = code.partition(":")
    if not sep:
        raise InvalidAccountCode(f"internal account code must be <kind>:<CCY>, got {code!r}")
    internal_code(kind, currency)
    return kind, currency


@dataclass(frozen=True, slots=True)
class InternalAccountRef:
    """An internal account as a payment's leg names it: id and key derive from its code
    (:func:`~domain.ledger.ids.account_id`), so routing needs no load of its aggregate."""

    id: UUID
    key: str
    currency: str

    @classmethod
    def of(cls, code: str) -> InternalAccountRef:
        _, currency = parse_internal_code(code)
        return cls(account_id(code), code, currency)


MAX_OVERDRAFT_INTEGER_DIGITS = 12
"""An overdraft limit has at most this many integer digits (below 10**12 in any currency):
a limit beyond is a typo or an attack, never a credit line, and is refused outright."""


def check_overdraft_limit(value: object, currency: str) -> Decimal:
    """``value`` as an overdraft limit of ``currency``: at the currency's scale, not
    negative, fewer than :data:`MAX_OVERDRAFT_INTEGER_DIGITS` integer digits."""
    limit = parse_amount(value, currency)
    if limit < 0:
        raise AccountStateError("overdraft limit must not be negative")
    if limit.adjusted() >= MAX_OVERDRAFT_INTEGER_DIGITS:
        raise InvalidMoney(
            f"overdraft limit {format(limit, 'f')} {currency} exceeds "
            f"{MAX_OVERDRAFT_INTEGER_DIGITS} integer digits"
        )
    return limit


class Account(AttributedAggregate):
    """A ledger account. Guards: status, overdraft limit, currency scale."""

    class_version = 2
    """Version 2 added ``holder_data`` (holder details); snapshots of version 1 are upcast."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return account_id(key)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken before holder details existed: the account has none recorded."""
        state["holder_data"] = None

    @event("Opened")
    def __init__(
        self,
        key: str,
        account_type: str,
        currency: str,
        holder_name: str,
        overdraft_limit: Decimal | None,
        holder: dict[str, Any] | None = None,
    ) -> None:
        # ``holder``: the holder details (HolderDetails.as_event); absent in old logs
        self.key = key
        self.account_type = AccountType(account_type)
        self.currency = currency
        self.holder_name = holder_name
        self.holder_data = holder
        self.overdraft_limit = overdraft_limit
        self.status = AccountStatus.OPEN
        self.balance = parse_amount(0, currency)
        self.holds: dict[str, Decimal] = {}
        self.outflow_day = ""
        self.outflow_today = parse_amount(0, currency)

    # -- factories -----------------------------------------------------------------

    @classmethod
    def open_customer(
        cls,
        iban: Iban,
        holder_name: str,
        currency: str,
        overdraft_limit: Decimal,
        holder: HolderDetails | None = None,
    ) -> Account:
        """Open a customer account; the overdraft limit is a non-negative amount.
        ``holder`` defaults to a natural person without further names."""
        check_currency(currency)
        limit = check_overdraft_limit(overdraft_limit, currency)
        name = holder_name.strip()
        if not name:
            raise AccountStateError("holder name must not be empty")
        return cls(
            key=iban.value,
            account_type=AccountType.CUSTOMER.value,
            currency=currency,
            holder_name=name,
            overdraft_limit=limit,
            holder=(holder or HolderDetails()).as_event(),
        )

    @classmethod
    def open_internal(cls, code: str) -> Account:
        """Open an internal account such as ``clearing:EUR`` (no overdraft limit)."""
        kind, currency = parse_internal_code(code)
        return cls(
            key=code,
            account_type=AccountType.INTERNAL.value,
            currency=currency,
            holder_name=f"{kind} account {currency}",
            overdraft_limit=None,
        )

    # -- queries -------------------------------------------------------------------

    @property
    def held(self) -> Decimal:
        return sum(self.holds.values(), parse_amount(0, self.currency))

    @property
    def available(self) -> Decimal:
        return self.balance - self.held

    @property
    def holder(self) -> HolderDetails:
        """The holder details; a natural person without further names when none were
        recorded (accounts opened before they existed)."""
        return HolderDetails.of_event(self.holder_data)

    @property
    def is_internal(self) -> bool:
        return self.account_type == AccountType.INTERNAL

    def outflow_on(self, booking_date: str) -> Decimal:
        """Total debited on ``booking_date`` (ISO date), for daily limits."""
        if booking_date == self.outflow_day:
            return self.outflow_today
        return parse_amount(0, self.currency)

    # -- guards --------------------------------------------------------------------

    def check_can_debit(self, amount: Decimal, releasing_hold: str | None = None) -> None:
        """Raise :class:`PostingRefused` unless ``amount`` may leave this account.

        ``releasing_hold`` names a hold that the debit replaces, so its amount
        counts as available again.
        """
        self._check_currency_scale(amount)
        if self.status == AccountStatus.CLOSED:
            raise PostingRefused(RejectionReason.ACCOUNT_CLOSED, f"account {self.key} is closed")
        if self.status == AccountStatus.FROZEN:
            raise PostingRefused(RejectionReason.ACCOUNT_FROZEN, f"account {self.key} is frozen")
        if self.overdraft_limit is None:
            return
        available = self.available
        if releasing_hold is not None:
            available += self.holds.get(releasing_hold, Decimal(0))
        if available - amount < -self.overdraft_limit:
            raise PostingRefused(
                RejectionReason.INSUFFICIENT_FUNDS,
                f"account {self.key} has {available} {self.currency} available "
                f"and an overdraft limit of {self.overdraft_limit}; {amount} requested",
            )

    def check_can_credit(self, amount: Decimal) -> None:
        """Raise :class:`PostingRefused` unless ``amount`` may be credited here."""
        self._check_currency_scale(amount)
        if self.status == AccountStatus.CLOSED:
            raise PostingRefused(RejectionReason.ACCOUNT_CLOSED, f"account {self.key} is closed")

    def _check_currency_scale(self, amount: Decimal) -> None:
        if amount <= 0:
            raise PostingRefused(RejectionReason.INSUFFICIENT_FUNDS, "amount must be positive")
        parse_amount(amount, self.currency)

    # -- commands ------------------------------------------------------------------

    def debit(self, transaction_id: UUID, amount: Decimal, booking_date: str) -> None:
        """Take ``amount`` out of the account for ``transaction_id``."""
        self.check_can_debit(amount)
        self._debited(transaction_id=transaction_id, amount=amount, booking_date=booking_date)

    @event("Debited")
    def _debited(self, transaction_id: UUID, amount: Decimal, booking_date: str) -> None:
        self.balance -= amount
        if booking_date != self.outflow_day:
            self.outflow_day = booking_date
            self.outflow_today = parse_amount(0, self.currency)
        self.outflow_today += amount

    def credit(self, transaction_id: UUID, amount: Decimal) -> None:
        """Put ``amount`` into the account for ``transaction_id``."""
        self.check_can_credit(amount)
        self._credited(transaction_id=transaction_id, amount=amount)

    @event("Credited")
    def _credited(self, transaction_id: UUID, amount: Decimal) -> None:
        self.balance += amount

    def place_hold(self, transaction_id: UUID, amount: Decimal) -> None:
        """Reserve ``amount`` for a held transaction: it leaves the available balance."""
        self.check_can_debit(amount)
        if str(transaction_id) in self.holds:
            raise AccountStateError(f"transaction {transaction_id} already holds funds here")
        self._hold_placed(transaction_id=transaction_id, amount=amount)

    @event("HoldPlaced")
    def _hold_placed(self, transaction_id: UUID, amount: Decimal) -> None:
        self.holds[str(transaction_id)] = amount

    def release_hold(self, transaction_id: UUID) -> None:
        """Give a hold's amount back to the available balance."""
        if str(transaction_id) not in self.holds:
            raise AccountStateError(f"no hold for transaction {transaction_id} on {self.key}")
        self._hold_released(transaction_id=transaction_id)

    @event("HoldReleased")
    def _hold_released(self, transaction_id: UUID) -> None:
        del self.holds[str(transaction_id)]

    def freeze(self, reason: str) -> None:
        """Block debits (credits still arrive). Only an open customer account can freeze."""
        if self.is_internal:
            raise AccountStateError("internal accounts cannot be frozen")
        if self.status != AccountStatus.OPEN:
            raise AccountStateError(f"account {self.key} is {self.status}, not OPEN")
        self._frozen(reason=reason)

    @event("Frozen")
    def _frozen(self, reason: str) -> None:
        self.status = AccountStatus.FROZEN

    def unfreeze(self, reason: str) -> None:
        if self.status != AccountStatus.FROZEN:
            raise AccountStateError(f"account {self.key} is {self.status}, not FROZEN")
        self._unfrozen(reason=reason)

    @event("Unfrozen")
    def _unfrozen(self, reason: str) -> None:
        self.status = AccountStatus.OPEN

    def change_overdraft_limit(self, limit: Decimal, reason: str) -> None:
        """Set a new overdraft limit (a customer account that is not closed); how far the
        balance may go below zero from now on. Existing debits stay as they are."""
        new_limit = check_overdraft_limit(limit, self.currency)
        if self.is_internal:
            raise AccountStateError("internal accounts have no overdraft limit")
        if self.status == AccountStatus.CLOSED:
            raise AccountStateError(f"account {self.key} is closed")
        if not reason.strip():
            raise AccountStateError("an overdraft limit change needs a reason")
        self._overdraft_limit_changed(overdraft_limit=new_limit, reason=reason.strip())

    @event("OverdraftLimitChanged")
    def _overdraft_limit_changed(self, overdraft_limit: Decimal, reason: str) -> None:
        self.overdraft_limit = overdraft_limit

    def change_holder_details(self, holder_name: str, holder: HolderDetails, reason: str) -> None:
        """Record the holder's legal name and details as they are now (a customer account
        that is not closed): a change of name, a joint holder added, a new trading name."""
        if self.is_internal:
            raise AccountStateError("internal accounts have no holder details")
        if self.status == AccountStatus.CLOSED:
            raise AccountStateError(f"account {self.key} is closed")
        if not reason.strip():
            raise AccountStateError("a holder details change needs a reason")
        name = check_name(holder_name)
        if name == self.holder_name and holder == self.holder:
            raise AccountStateError(f"account {self.key} already has these holder details")
        self._holder_details_changed(
            holder_name=name, holder=holder.as_event(), reason=reason.strip()
        )

    @event("HolderDetailsChanged")
    def _holder_details_changed(
        self, holder_name: str, holder: dict[str, Any], reason: str
    ) -> None:
        self.holder_name = holder_name
        self.holder_data = holder

    def close(self, reason: str) -> None:
        """Close for good; only with a zero balance and no holds."""
        if self.is_internal:
            raise AccountStateError("internal accounts cannot be closed")
        if self.status == AccountStatus.CLOSED:
            raise AccountStateError(f"account {self.key} is already closed")
        if self.balance != 0 or self.holds:
            raise AccountStateError(
                f"account {self.key} has balance {self.balance} and {len(self.holds)} holds; "
                "it can only be closed when empty"
            )
        self._closed(reason=reason)

    @event("Closed")
    def _closed(self, reason: str) -> None:
        self.status = AccountStatus.CLOSED

    def state(self) -> dict[str, Any]:
        """A plain snapshot of the observable state, for tests and diagnostics."""
        return {
            "key": self.key,
            "type": str(self.account_type),
            "currency": self.currency,
            "status": str(self.status),
            "balance": self.balance,
            "held": self.held,
            "holder_name": self.holder_name,
        }
