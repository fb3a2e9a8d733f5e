"""Test data factories: valid IBANs, payment messages, a controllable clock, an app."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import schwifty

from adapters.persistence import DatabaseConfig, event_store_env
from application.ledger.app import LedgerApplication
from application.ledger.commands import OpenAccount, PaymentInstruction
from application.ledger.screening import AmountLimits, RulesScreening
from domain.iban import Iban
from domain.ledger.accounts import balance_is_projected
from domain.money import parse_amount

# The issue's example message, verbatim.
EXAMPLE_MESSAGE: dict[str, Any] = {
    "externalId": "MOB-2026-000001",
    "channel": "MOBILE",
    "debtor": {"iban": "DE89370400440532013000", "name": "Max Mustermann"},
    "creditor": {"iban": "FR1420041010050500013M02606", "name": "Marie Dupont"},
    "amount": "125.40",
    "currency": "EUR",
    "reference": "Invoice 4711",
    "requestedAt": "2026-11-23T10:15:00Z",
    "metadata": {"deviceId": "d-1", "ip": "203.0.113.7"},
}

# Bank codes per country that schwifty's registry knows, so generated IBANs are valid.
_BANKS: dict[str, dict[str, str]] = {
    "DE": {"bank_code": "37040044"},
    "FR": {"bank_code": "20041", "branch_code": "01005"},
    "NL": {"bank_code": "ABNA"},
    "GB": {"bank_code": "NWBK", "branch_code": "601613"},
    "ES": {"bank_code": "2100", "branch_code": "0418"},
    "BE": {"bank_code": "539"},
    "AT": {"bank_code": "19043"},
}
COUNTRIES = tuple(_BANKS)

_serial = itertools.count(1)


def iban(country: str = "DE", number: int | None = None) -> str:
    """A valid IBAN (compact form) of ``country``; distinct for distinct ``number``."""
    if number is None:
        number = next(_serial)
    return str(schwifty.IBAN.generate(country, account_code=str(number), **_BANKS[country]).compact)


def ibans(country: str = "DE", start: int = 1) -> Iterator[str]:
    for number in itertools.count(start):
        yield iban(country, number)


def party(iban_value: str, name: str = "Holder") -> dict[str, str]:
    return {"iban": iban_value, "name": name}


def message(
    *,
    debtor: str | None = None,
    creditor: str | None = None,
    amount: str = "10.00",
    currency: str = "EUR",
    external_id: str | None = None,
    channel: str = "MOBILE",
    **overrides: Any,
) -> dict[str, Any]:
    """A payment message in the ingestion format; any field can be overridden."""
    msg: dict[str, Any] = {
        "externalId": external_id or f"EXT-{next(_serial):08d}",
        "channel": channel,
        "debtor": party(debtor or iban("DE"), "Debtor Name"),
        "creditor": party(creditor or iban("FR"), "Creditor Name"),
        "amount": amount,
        "currency": currency,
        "reference": "test payment",
        "requestedAt": "2026-11-23T10:15:00Z",
        "metadata": {"deviceId": "d-1"},
    }
    msg.update(overrides)
    return msg


def payment(**kwargs: Any) -> PaymentInstruction:
    """A validated instruction built through the real parser."""
    return PaymentInstruction.from_message(message(**kwargs))


def open_command(
    iban_value: str, currency: str = "EUR", overdraft: str = "0", holder: str = "Holder"
) -> OpenAccount:
    return OpenAccount(Iban(iban_value), holder, currency, Decimal(overdraft))


class FakeClock:
    """A clock the test moves by hand; returns tz-aware UTC datetimes."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
        if self.now.tzinfo is None:
            raise ValueError("FakeClock needs a tz-aware start")
        self.now = self.now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def default_screening() -> RulesScreening:
    return RulesScreening(
        AmountLimits.parse(review="EUR:1000", decline="EUR:5000", daily="EUR:8000")
    )


def make_app(database: DatabaseConfig, clock: FakeClock | None = None) -> LedgerApplication:
    """A LedgerApplication on ``database`` with the default test limits."""
    return LedgerApplication(
        env=event_store_env(database, "ledger"),
        clock=clock or FakeClock(),
        screening=default_screening(),
    )


class MonotonicClock:
    """A ``time.monotonic`` stand-in the test moves by hand (seconds as a float)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


LEG_EVENTS = frozenset({"Transaction.Posted", "Transaction.CreditApplied"})
"""The transaction events that carry legs."""


def internal_balances(app: LedgerApplication) -> dict[str, Decimal]:
    """The balance of every internal account by the write side: the sum of the legs
    (``Posted``, ``CreditApplied``) naming it in the log (a payment never writes an internal
    account's aggregate)."""
    totals: dict[str, Decimal] = {}
    start = 1
    while True:
        page = app.recorder.select_notifications(start, 500)
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            if type(event).__qualname__ not in LEG_EVENTS:
                continue
            for leg in event.postings:  # type: ignore[attr-defined]
                key = str(leg["account_key"])
                if balance_is_projected(key):
                    totals[key] = totals.get(key, Decimal(0)) + Decimal(leg["amount"])
        if len(page) < 500:
            return totals
        start = page[-1].id + 1


def ledger_balance(app: LedgerApplication, key: str) -> Decimal:
    """An account's balance by the write side: a customer account's aggregate, an internal
    account's legs (:func:`internal_balances`); NotFound for an account never opened."""
    account = app.get_account(key)
    if not balance_is_projected(key):
        return Decimal(account.balance)
    return internal_balances(app).get(key, parse_amount(0, account.currency))
