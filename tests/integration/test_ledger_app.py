"""LedgerApplication use cases against a real event store, on SQLite and on PostgreSQL.

Every test taking ``database`` runs on both backends; the concurrency test at the
end runs on PostgreSQL only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eventsourcing.persistence import IntegrityError

from adapters.persistence import DatabaseConfig
from application.errors import (
    AlreadyExists,
    ConcurrencyExhausted,
    Conflict,
    IdempotencyKeyReused,
    InvalidCommand,
    NotFound,
)
from application.ledger.app import LedgerApplication
from application.ledger.commands import PaymentInstruction, SubmissionResult
from domain.causation import Causation, caused_by
from domain.ledger.accounts import AccountStatus
from domain.ledger.transactions import TransactionStatus
from tests.builders import (
    EXAMPLE_MESSAGE,
    FakeClock,
    iban,
    internal_balances,
    ledger_balance,
    make_app,
    message,
    open_command,
    payment,
)

ZERO = Decimal(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


@pytest.fixture
def apps(database: DatabaseConfig) -> Iterator[list[LedgerApplication]]:
    """Every LedgerApplication a test creates; all are closed at the end."""
    created: list[LedgerApplication] = []
    yield created
    for app in created:
        app.close()


@pytest.fixture
def new_app(database: DatabaseConfig, clock: FakeClock, apps: list[LedgerApplication]):
    """Start another LedgerApplication on the same store (a fresh process, say)."""

    def start(clock_: FakeClock | None = None) -> LedgerApplication:
        app = make_app(database, clock_ or clock)
        apps.append(app)
        return app

    return start


@pytest.fixture
def app(new_app) -> LedgerApplication:
    return new_app()


def open_funded(app: LedgerApplication, amount: str = "0", *, overdraft: str = "0", **kw) -> str:
    """Open a customer account and fund it by an incoming payment; return its IBAN."""
    key = iban(kw.pop("country", "DE"))
    app.open_account(open_command(key, overdraft=overdraft, **kw))
    if Decimal(amount):
        currency = kw.get("currency", "EUR")
        result = app.submit_payment(
            payment(debtor=iban("FR"), creditor=key, amount=amount, currency=currency)
        )
        assert result.status == "POSTED", result
    return key


def balance(app: LedgerApplication, key: str) -> Decimal:
    """A customer account's aggregate balance; an internal account's from its legs."""
    return ledger_balance(app, key)


def txid(result: SubmissionResult) -> uuid.UUID:
    return uuid.UUID(result.transaction_id)


def currency_total(app: LedgerApplication, keys: list[str], currency: str = "EUR") -> Decimal:
    accounts = [app.get_account(k) for k in keys]
    customers = sum((a.balance for a in accounts if a.currency == currency), ZERO)
    return customers + internal_balances(app).get(f"clearing:{currency}", ZERO)


def account_events(app: LedgerApplication, key: str) -> list:
    return list(app.events.get(app.get_account(key).id))


# -- accounts -----------------------------------------------------------------------------


def test_open_account_and_read_it_back(app):
    key = iban("DE")
    opened = app.open_account(open_command(key, overdraft="250", holder="Erika Muster"))
    account = app.get_account(key)
    assert account.id == opened.id
    assert account.state() == {
        "key": key,
        "type": "CUSTOMER",
        "currency": "EUR",
        "status": "OPEN",
        "balance": Decimal("0.00"),
        "held": Decimal("0.00"),
        "holder_name": "Erika Muster",
    }
    assert account.overdraft_limit == Decimal("250.00")


def test_opening_the_same_iban_twice_is_refused(app):
    key = iban("NL")
    app.open_account(open_command(key))
    with pytest.raises(AlreadyExists):
        app.open_account(open_command(key, holder="Someone Else"))
    spaced = " ".join(key[i : i + 4] for i in range(0, len(key), 4)).lower()
    with pytest.raises(AlreadyExists):
        app.open_account(open_command(spaced))
    assert app.get_account(key).holder_name == "Holder"


def test_opening_the_same_iban_from_another_instance_is_refused(app, new_app):
    key = iban("DE")
    app.open_account(open_command(key))
    with pytest.raises(AlreadyExists):
        new_app().open_account(open_command(key))


def test_unknown_account_is_not_found(app):
    with pytest.raises(NotFound):
        app.get_account(iban("DE"))
    with pytest.raises(NotFound):
        app.freeze_account(iban("DE"), "x")
    with pytest.raises(NotFound):
        app.get_transaction(uuid.uuid4())


def test_internal_account_opening_is_idempotent(app):
    first = app.open_internal_account("suspense:EUR")
    second = app.open_internal_account("suspense:EUR")
    assert first.id == second.id
    assert app.get_account("suspense:EUR").is_internal
    assert len(list(app.events.get(first.id))) == 1


def test_freeze_unfreeze_close_through_the_application(app):
    key = open_funded(app, "10.00")
    assert app.freeze_account(key, "suspicion").status == AccountStatus.FROZEN
    with pytest.raises(Conflict):
        app.freeze_account(key, "again")
    assert app.unfreeze_account(key, "ok").status == AccountStatus.OPEN
    with pytest.raises(Conflict):
        app.unfreeze_account(key, "not frozen")
    with pytest.raises(Conflict, match="balance"):
        app.close_account(key, "has money")
    app.submit_payment(payment(debtor=key, creditor=iban("FR"), amount="10.00"))
    assert app.close_account(key, "empty").status == AccountStatus.CLOSED
    assert app.get_account(key).status == AccountStatus.CLOSED
    with pytest.raises(Conflict):
        app.close_account(key, "twice")
    with pytest.raises(Conflict):
        app.freeze_account("clearing:EUR", "internal")


# -- payments -------------------------------------------------------------------------------


def test_incoming_payment_credits_the_customer_from_clearing(app):
    key = open_funded(app)
    result = app.submit_payment(payment(debtor=iban("FR"), creditor=key, amount="125.40"))
    assert result.status == "POSTED"
    assert result.duplicate is False
    assert result.reason is None
    assert balance(app, key) == Decimal("125.40")
    assert balance(app, "clearing:EUR") == Decimal("-125.40")
    tx = app.get_transaction(txid(result))
    assert tx.status == TransactionStatus.POSTED
    assert {(leg.account_key, leg.amount) for leg in tx.legs()} == {
        ("clearing:EUR", Decimal("-125.40")),
        (key, Decimal("125.40")),
    }


def test_the_issue_example_message_books_an_outgoing_payment(app):
    debtor = "DE89370400440532013000"
    app.open_account(open_command(debtor, holder="Max Mustermann"))
    app.submit_payment(payment(debtor=iban("FR"), creditor=debtor, amount="500.00"))
    result = app.submit_payment(PaymentInstruction.from_message(EXAMPLE_MESSAGE))
    assert result.status == "POSTED"
    assert balance(app, debtor) == Decimal("374.60")
    assert balance(app, "clearing:EUR") == Decimal("-374.60")
    tx = app.get_transaction(txid(result))
    assert tx.external_id == "MOB-2026-000001"
    assert tx.channel == "MOBILE"
    assert tx.requested_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert tx.metadata == {"deviceId": "d-1", "ip": "203.0.113.7"}
    assert tx.reference == "Invoice 4711"


def test_outgoing_payment_debits_the_customer_into_clearing(app):
    key = open_funded(app, "100.00")
    result = app.submit_payment(payment(debtor=key, creditor=iban("FR"), amount="40.00"))
    assert result.status == "POSTED"
    assert balance(app, key) == Decimal("60.00")
    assert balance(app, "clearing:EUR") == Decimal("-60.00")


def test_internal_transfer_moves_money_between_customers_only(app):
    a = open_funded(app, "100.00")
    b = open_funded(app, country="NL")
    clearing_before = balance(app, "clearing:EUR")
    result = app.submit_payment(payment(debtor=a, creditor=b, amount="30.00"))
    assert result.status == "POSTED"
    assert balance(app, a) == Decimal("70.00")
    assert balance(app, b) == Decimal("30.00")
    assert balance(app, "clearing:EUR") == clearing_before
    assert currency_total(app, [a, b]) == 0


def test_overdraft_limit_is_honoured(app):
    key = open_funded(app, "50.00", overdraft="100")
    ok = app.submit_payment(payment(debtor=key, creditor=iban("FR"), amount="150.00"))
    assert ok.status == "POSTED"
    assert balance(app, key) == Decimal("-100.00")
    refused = app.submit_payment(payment(debtor=key, creditor=iban("FR"), amount="0.01"))
    assert refused.status == "REJECTED"
    assert refused.reason == "INSUFFICIENT_FUNDS"
    assert balance(app, key) == Decimal("-100.00")


def test_other_currencies_book_at_their_own_scale(app):
    key = open_funded(app, currency="JPY")
    result = app.submit_payment(
        payment(debtor=iban("FR"), creditor=key, amount="15000", currency="JPY")
    )
    assert result.status == "POSTED"
    assert balance(app, key) == Decimal("15000")
    assert balance(app, "clearing:JPY") == Decimal("-15000")
    assert str(balance(app, key)) == "15000"


def test_ibans_in_other_notation_find_the_account(app):
    key = open_funded(app)
    spaced = " ".join(key[i : i + 4] for i in range(0, len(key), 4)).lower()
    result = app.submit_payment(payment(debtor=iban("FR"), creditor=spaced, amount="1.00"))
    assert result.status == "POSTED"
    assert balance(app, key) == Decimal("1.00")


# -- idempotency ------------------------------------------------------------------------------


def test_a_repeated_message_returns_the_first_result_and_books_once(app):
    key = open_funded(app, "100.00")
    msg = message(debtor=key, creditor=iban("FR"), amount="25.00", external_id="X-1")
    first = app.submit_payment(PaymentInstruction.from_message(msg))
    events_before = len(account_events(app, key))
    second = app.submit_payment(PaymentInstruction.from_message(msg))
    assert first.duplicate is False
    assert second.duplicate is True
    assert second.transaction_id == first.transaction_id
    assert second.status == first.status == "POSTED"
    assert balance(app, key) == Decimal("75.00")
    assert len(account_events(app, key)) == events_before


def test_the_idempotency_key_is_channel_and_external_id(app):
    key = open_funded(app, "100.00")
    base = {"debtor": key, "creditor": iban("FR"), "amount": "10.00", "external_id": "SAME"}
    mobile = app.submit_payment(PaymentInstruction.from_message(message(channel="MOBILE", **base)))
    web = app.submit_payment(PaymentInstruction.from_message(message(channel="WEB", **base)))
    again = app.submit_payment(PaymentInstruction.from_message(message(channel="mobile", **base)))
    assert mobile.transaction_id != web.transaction_id
    assert web.duplicate is False
    assert again.duplicate is True
    assert again.transaction_id == mobile.transaction_id
    assert balance(app, key) == Decimal("80.00")


def test_a_key_reused_for_another_payment_is_refused_and_books_nothing(app):
    """The same key with another amount is not a retry: answering it as a duplicate would
    tell the channel that a payment it never made was booked."""
    key = open_funded(app, "100.00")
    creditor = iban("FR")
    first = app.submit_payment(
        payment(debtor=key, creditor=creditor, amount="10.00", external_id="K-1")
    )
    with pytest.raises(IdempotencyKeyReused, match="another amount"):
        app.submit_payment(
            payment(debtor=key, creditor=creditor, amount="99.00", external_id="K-1")
        )
    with pytest.raises(IdempotencyKeyReused, match="another creditor"):
        app.submit_payment(payment(debtor=key, amount="10.00", external_id="K-1"))
    same = app.submit_payment(
        payment(debtor=key, creditor=creditor, amount="10.00", external_id="K-1")
    )
    assert (same.duplicate, same.transaction_id) == (True, first.transaction_id)
    assert balance(app, key) == Decimal("90.00")
    assert app.get_transaction(txid(first)).amount == Decimal("10.00")


def test_a_repeated_held_payment_is_answered_the_same(app, new_app):
    """At-least-once delivery: the message of a payment held for review arrives again."""
    key = open_funded(app, "3000.00")
    msg = message(debtor=key, creditor=iban("FR"), amount="1500.00", external_id="H-1")
    first = app.submit_payment(PaymentInstruction.from_message(msg))
    assert first.status == "HELD"
    for instance in (app, new_app()):
        again = instance.submit_payment(PaymentInstruction.from_message(msg))
        assert (again.transaction_id, again.status, again.duplicate) == (
            first.transaction_id,
            "HELD",
            True,
        )
    account = app.get_account(key)
    assert (account.balance, account.held) == (Decimal("3000.00"), Decimal("1500.00"))


def test_a_repeated_rejection_is_answered_the_same(app):
    msg = message(debtor=iban("FR"), creditor=iban("NL"), external_id="R-1")
    first = app.submit_payment(PaymentInstruction.from_message(msg))
    second = app.submit_payment(PaymentInstruction.from_message(msg))
    assert first.status == second.status == "REJECTED"
    assert first.reason == second.reason == "UNKNOWN_ACCOUNT"
    assert second.duplicate is True


def test_the_same_key_twice_in_one_batch_books_once(app):
    key = open_funded(app, "100.00")
    msg = message(debtor=key, creditor=iban("FR"), amount="30.00", external_id="B-1")
    other = payment(debtor=key, creditor=iban("FR"), amount="5.00")
    results = app.submit_payments(
        [
            PaymentInstruction.from_message(msg),
            other,
            PaymentInstruction.from_message(msg),
        ]
    )
    assert [r.duplicate for r in results] == [False, False, True]
    assert results[2].transaction_id == results[0].transaction_id
    assert results[2].status == results[0].status == "POSTED"
    assert balance(app, key) == Decimal("65.00")


def test_a_repeat_on_another_instance_is_a_duplicate(app, new_app):
    key = open_funded(app, "100.00")
    msg = message(debtor=key, creditor=iban("FR"), amount="30.00", external_id="P-1")
    first = app.submit_payment(PaymentInstruction.from_message(msg))
    second = new_app().submit_payment(PaymentInstruction.from_message(msg))
    assert second.duplicate is True
    assert second.transaction_id == first.transaction_id
    assert balance(new_app(), key) == Decimal("70.00")


def test_a_batch_mixing_stored_keys_and_new_payments(app, new_app):
    key = open_funded(app, "100.00")
    stored = message(debtor=key, creditor=iban("FR"), amount="10.00", external_id="S-1")
    first = app.submit_payment(PaymentInstruction.from_message(stored))
    for instance in (app, new_app()):
        results = instance.submit_payments(
            [
                payment(debtor=key, amount="5.00"),
                PaymentInstruction.from_message(stored),
                payment(debtor=iban("FR"), creditor=key, amount="1.00"),
            ]
        )
        assert [(r.status, r.duplicate) for r in results] == [
            ("POSTED", False),
            ("POSTED", True),
            ("POSTED", False),
        ]
        assert results[1].transaction_id == first.transaction_id
    assert balance(app, key) == Decimal("82.00")
    assert currency_total(app, [key]) == 0


def test_a_refused_batch_books_nothing_and_leaves_no_trace(app):
    key = open_funded(app, "100.00")
    valid = payment(debtor=key, amount="60.00")
    reserved = dataclasses.replace(payment(debtor=key, amount="1.00"), channel="REVERSAL")
    with pytest.raises(InvalidCommand):
        app.submit_payments([valid, reserved])
    assert balance(app, key) == Decimal("100.00")
    # The refused batch's effects must not linger in the instance either.
    result = app.submit_payment(payment(debtor=key, amount="100.00"))
    assert result.status == "POSTED"
    assert balance(app, key) == 0
    assert app.submit_payment(valid).duplicate is False


def test_batch_payments_see_each_others_effects(app):
    key = open_funded(app, "100.00")
    results = app.submit_payments(
        [payment(debtor=key, creditor=iban("FR"), amount="60.00") for _ in range(3)]
    )
    assert [r.status for r in results] == ["POSTED", "REJECTED", "REJECTED"]
    assert results[1].reason == "INSUFFICIENT_FUNDS"
    assert balance(app, key) == Decimal("40.00")


# -- rejections ------------------------------------------------------------------------------


def assert_rejected(app, result, reason):
    assert result.status == "REJECTED", result
    assert result.reason == reason
    tx = app.get_transaction(txid(result))
    assert tx.status == TransactionStatus.REJECTED
    assert tx.rejection_reason == reason
    assert tx.legs() == []


def test_neither_party_ours_is_rejected_as_unknown_account(app):
    result = app.submit_payment(payment(debtor=iban("FR"), creditor=iban("NL")))
    assert_rejected(app, result, "UNKNOWN_ACCOUNT")


def test_currency_mismatch_is_rejected(app):
    key = open_funded(app, "100.00")
    incoming = app.submit_payment(
        payment(debtor=iban("FR"), creditor=key, amount="10.00", currency="USD")
    )
    assert_rejected(app, incoming, "CURRENCY_MISMATCH")
    outgoing = app.submit_payment(payment(debtor=key, amount="10.00", currency="USD"))
    assert_rejected(app, outgoing, "CURRENCY_MISMATCH")
    assert balance(app, key) == Decimal("100.00")


def test_insufficient_funds_is_rejected(app):
    key = open_funded(app, "10.00")
    result = app.submit_payment(payment(debtor=key, amount="10.01"))
    assert_rejected(app, result, "INSUFFICIENT_FUNDS")
    assert balance(app, key) == Decimal("10.00")


def test_frozen_account_takes_credits_but_no_debits(app):
    key = open_funded(app, "100.00")
    app.freeze_account(key, "court order")
    out = app.submit_payment(payment(debtor=key, amount="1.00"))
    assert_rejected(app, out, "ACCOUNT_FROZEN")
    incoming = app.submit_payment(payment(debtor=iban("FR"), creditor=key, amount="5.00"))
    assert incoming.status == "POSTED"
    assert balance(app, key) == Decimal("105.00")


def test_closed_account_takes_neither(app):
    key = open_funded(app)
    other = open_funded(app, "100.00")
    app.close_account(key, "customer left")
    incoming = app.submit_payment(payment(debtor=iban("FR"), creditor=key, amount="5.00"))
    assert_rejected(app, incoming, "ACCOUNT_CLOSED")
    transfer = app.submit_payment(payment(debtor=other, creditor=key, amount="5.00"))
    assert_rejected(app, transfer, "ACCOUNT_CLOSED")
    outgoing = app.submit_payment(payment(debtor=key, amount="5.00"))
    assert_rejected(app, outgoing, "ACCOUNT_CLOSED")
    assert balance(app, key) == 0
    assert balance(app, other) == Decimal("100.00")


def test_same_account_on_both_sides_is_rejected(app):
    key = open_funded(app, "100.00")
    result = app.submit_payment(payment(debtor=key, creditor=key, amount="5.00"))
    assert_rejected(app, result, "SAME_ACCOUNT")


def test_screening_declines_large_outgoing_payments(app):
    key = open_funded(app, "6000.00")
    result = app.submit_payment(payment(debtor=key, amount="5000.01"))
    assert_rejected(app, result, "SCREENING_DECLINED")
    assert balance(app, key) == Decimal("6000.00")
    assert app.get_account(key).held == 0


def test_incoming_payments_are_not_limited_by_screening(app):
    key = open_funded(app)
    result = app.submit_payment(payment(debtor=iban("FR"), creditor=key, amount="9000.00"))
    assert result.status == "POSTED"


def test_daily_limit_declines_then_resets_the_next_day(app, clock):
    key = open_funded(app, "9000.00")
    for _ in range(8):
        assert app.submit_payment(payment(debtor=key, amount="1000.00")).status == "POSTED"
    over = app.submit_payment(payment(debtor=key, amount="0.01"))
    assert_rejected(app, over, "SCREENING_DECLINED")
    assert balance(app, key) == Decimal("1000.00")
    clock.advance(timedelta(days=1).total_seconds())
    assert app.submit_payment(payment(debtor=key, amount="0.01")).status == "POSTED"


def test_daily_limit_counts_a_released_hold_as_outflow(app, clock):
    key = open_funded(app, "9000.00")
    held = app.submit_payment(payment(debtor=key, amount="4000.00"))
    assert held.status == "HELD"
    app.release_held(txid(held))
    for _ in range(4):
        assert app.submit_payment(payment(debtor=key, amount="1000.00")).status == "POSTED"
    assert_rejected(
        app, app.submit_payment(payment(debtor=key, amount="0.01")), "SCREENING_DECLINED"
    )


# -- holds --------------------------------------------------------------------------------------


def test_review_holds_the_funds(app):
    key = open_funded(app, "2000.00")
    result = app.submit_payment(payment(debtor=key, amount="1500.00"))
    assert result.status == "HELD"
    account = app.get_account(key)
    assert account.balance == Decimal("2000.00")
    assert account.held == Decimal("1500.00")
    assert account.available == Decimal("500.00")
    assert app.get_transaction(txid(result)).status == TransactionStatus.HELD
    # The hold counts against further payments.
    refused = app.submit_payment(payment(debtor=key, amount="500.01"))
    assert refused.reason == "INSUFFICIENT_FUNDS"


def test_release_held_posts_the_payment(app):
    key = open_funded(app, "2000.00")
    held = app.submit_payment(payment(debtor=key, amount="1500.00"))
    released = app.release_held(txid(held))
    assert released.status == "POSTED"
    assert released.transaction_id == held.transaction_id
    account = app.get_account(key)
    assert account.balance == Decimal("500.00")
    assert account.held == 0
    assert balance(app, "clearing:EUR") == Decimal("-500.00")
    with pytest.raises(Conflict):
        app.release_held(txid(held))


def test_reject_held_releases_the_hold(app):
    key = open_funded(app, "2000.00")
    held = app.submit_payment(payment(debtor=key, amount="1500.00"))
    rejected = app.reject_held(txid(held), "analyst: fraud")
    assert rejected.status == "REJECTED"
    assert rejected.reason == "OPERATOR_REJECTED"
    account = app.get_account(key)
    assert account.balance == Decimal("2000.00")
    assert account.held == 0
    assert account.available == Decimal("2000.00")
    with pytest.raises(Conflict):
        app.reject_held(txid(held), "again")
    with pytest.raises(Conflict):
        app.release_held(txid(held))


def test_releasing_a_hold_on_a_frozen_account_rejects_it(app):
    key = open_funded(app, "2000.00")
    held = app.submit_payment(payment(debtor=key, amount="1500.00"))
    app.freeze_account(key, "fraud")
    result = app.release_held(txid(held))
    assert result.status == "REJECTED"
    assert result.reason == "ACCOUNT_FROZEN"
    account = app.get_account(key)
    assert account.held == 0
    assert account.balance == Decimal("2000.00")


def test_an_account_with_a_hold_cannot_be_closed(app):
    key = open_funded(app, "2000.00")
    held = app.submit_payment(payment(debtor=key, amount="1500.00"))
    app.submit_payment(payment(debtor=key, amount="500.00"))
    with pytest.raises(Conflict):
        app.close_account(key, "x")
    app.reject_held(txid(held), "no")
    app.submit_payment(payment(debtor=key, amount="1000.00"))
    app.submit_payment(payment(debtor=key, amount="500.00"))
    assert app.close_account(key, "empty").status == AccountStatus.CLOSED


def test_release_or_reject_of_a_transaction_that_is_not_held(app):
    key = open_funded(app, "100.00")
    posted = app.submit_payment(payment(debtor=key, amount="1.00"))
    with pytest.raises(Conflict):
        app.release_held(txid(posted))
    with pytest.raises(Conflict):
        app.reject_held(txid(posted), "no")
    with pytest.raises(NotFound):
        app.release_held(uuid.uuid4())


# -- reversal and settlement --------------------------------------------------------------------


def test_reversal_is_a_new_linked_transaction_with_mirrored_legs(app):
    a = open_funded(app, "100.00")
    b = open_funded(app)
    original = app.submit_payment(payment(debtor=a, creditor=b, amount="30.00"))
    reversal = app.reverse(txid(original), "duplicate charge")
    assert reversal.status == "POSTED"
    assert reversal.transaction_id != original.transaction_id
    assert balance(app, a) == Decimal("100.00")
    assert balance(app, b) == 0
    orig_tx = app.get_transaction(txid(original))
    rev_tx = app.get_transaction(txid(reversal))
    assert orig_tx.status == TransactionStatus.REVERSED
    assert orig_tx.reversed_by == rev_tx.id
    assert rev_tx.reverses == orig_tx.id
    assert rev_tx.amount == orig_tx.amount
    assert sorted((leg.account_key, leg.amount) for leg in rev_tx.legs()) == sorted(
        (leg.account_key, -leg.amount) for leg in orig_tx.legs()
    )
    # Nothing was edited: the original keeps its postings.
    assert {(leg.account_key, leg.amount) for leg in orig_tx.legs()} == {
        (a, Decimal("-30.00")),
        (b, Decimal("30.00")),
    }


def test_reversal_of_an_outgoing_payment_debits_clearing(app):
    a = open_funded(app, "100.00")
    original = app.submit_payment(payment(debtor=a, amount="30.00"))
    app.reverse(txid(original), "returned by the beneficiary bank")
    assert balance(app, a) == Decimal("100.00")
    assert balance(app, "clearing:EUR") == Decimal("-100.00")


def test_second_reversal_is_refused(app):
    a = open_funded(app, "100.00")
    original = app.submit_payment(payment(debtor=a, amount="30.00"))
    app.reverse(txid(original), "once")
    with pytest.raises(Conflict):
        app.reverse(txid(original), "twice")
    assert balance(app, a) == Decimal("100.00")


def test_second_reversal_from_another_instance_is_refused(app, new_app):
    a = open_funded(app, "100.00")
    original = app.submit_payment(payment(debtor=a, amount="30.00"))
    app.reverse(txid(original), "once")
    with pytest.raises(Conflict):
        new_app().reverse(txid(original), "twice")
    assert balance(new_app(), a) == Decimal("100.00")


def test_reversal_of_a_transaction_that_is_not_posted_is_refused(app):
    a = open_funded(app, "2000.00")
    held = app.submit_payment(payment(debtor=a, amount="1500.00"))
    rejected = app.submit_payment(payment(debtor=iban("FR"), creditor=iban("NL")))
    for result in (held, rejected):
        with pytest.raises(Conflict):
            app.reverse(txid(result), "not possible")
    with pytest.raises(NotFound):
        app.reverse(uuid.uuid4(), "unknown")
    assert balance(app, a) == Decimal("2000.00")
    assert app.get_account(a).held == Decimal("1500.00")


def test_reversal_needs_a_reason(app):
    a = open_funded(app, "100.00")
    original = app.submit_payment(payment(debtor=a, amount="30.00"))
    with pytest.raises(Conflict):
        app.reverse(txid(original), "   ")
    assert app.get_transaction(txid(original)).status == TransactionStatus.POSTED


def test_reversal_refused_when_the_creditor_lacks_the_funds(app):
    a = open_funded(app, "100.00")
    b = open_funded(app)
    original = app.submit_payment(payment(debtor=a, creditor=b, amount="30.00"))
    app.submit_payment(payment(debtor=b, amount="30.00"))
    with pytest.raises(Conflict):
        app.reverse(txid(original), "too late")
    assert app.get_transaction(txid(original)).status == TransactionStatus.POSTED
    assert balance(app, a) == Decimal("70.00")
    assert balance(app, b) == 0


def test_a_reversal_cannot_be_reversed(app):
    """A reversal skips screening: reversing it (again and again) would move money unscreened.
    It is refused with a Conflict naming the reversal, and nothing is booked."""
    a = open_funded(app, "100.00")
    original = app.submit_payment(payment(debtor=a, amount="30.00"))
    reversal = app.reverse(txid(original), "first")
    for attempt in ("reversal was wrong", "and again"):
        with pytest.raises(Conflict, match=f"transaction {reversal.transaction_id} is a reversal"):
            app.reverse(txid(reversal), attempt)
    assert app.get_transaction(txid(reversal)).status == TransactionStatus.POSTED
    assert app.get_transaction(txid(reversal)).reversed_by is None
    assert balance(app, a) == Decimal("100.00")


def test_a_channel_message_cannot_block_a_reversal(app):
    """Reversal ids live in the idempotency-key space of the REVERSAL channel; a payment
    message that claims that channel must not take the id of a future reversal."""
    a = open_funded(app, "100.00")
    original = app.submit_payment(payment(debtor=a, amount="30.00"))
    squatter = message(
        debtor=iban("FR"),
        creditor=iban("NL"),
        channel="REVERSAL",
        external_id=original.transaction_id,
    )
    # Refusing the reserved channel at the edge would be a fine answer too.
    with contextlib.suppress(ValueError):
        app.submit_payment(PaymentInstruction.from_message(squatter))
    reversal = app.reverse(txid(original), "customer dispute")
    assert reversal.status == "POSTED"
    assert balance(app, a) == Decimal("100.00")


def test_the_application_refuses_the_reserved_channel_too(app):
    """An instruction built without the message parser still may not use REVERSAL."""
    a = open_funded(app, "100.00")
    original = app.submit_payment(payment(debtor=a, amount="30.00"))
    valid = payment(debtor=iban("FR"), creditor=a, amount="1.00")
    squatter = dataclasses.replace(valid, channel="REVERSAL", external_id=original.transaction_id)
    with pytest.raises(InvalidCommand):
        app.submit_payment(squatter)
    assert app.reverse(txid(original), "dispute").status == "POSTED"
    assert balance(app, a) == Decimal("100.00")


def test_settle_a_posted_transaction(app):
    a = open_funded(app, "100.00")
    posted = app.submit_payment(payment(debtor=a, amount="30.00"))
    settled = app.settle(txid(posted), "CB-2026-1")
    assert settled.status == "SETTLED"
    assert app.get_transaction(txid(posted)).status == TransactionStatus.SETTLED
    with pytest.raises(Conflict):
        app.settle(txid(posted), "again")
    with pytest.raises(Conflict):
        app.reverse(txid(posted), "settled already")
    held = app.submit_payment(payment(debtor=a, amount="1500.00"))
    with pytest.raises(Conflict):
        app.settle(txid(held), "held")
    assert balance(app, a) == Decimal("70.00")


# -- causation, time, correlation ----------------------------------------------------------------


class TickingClock(FakeClock):
    """Moves one millisecond forward on every reading: a use case that reads the clock
    more than once would show it in its events."""

    def __call__(self) -> datetime:
        return self.advance(0.001)


def events_of_use_case(app: LedgerApplication, tx_id: uuid.UUID, keys: list[str]) -> list:
    events = list(app.events.get(tx_id))
    for key in keys:
        events += [
            e
            for e in app.events.get(app.get_account(key).id)
            if getattr(e, "transaction_id", None) == tx_id
        ]
    return events


def test_all_events_of_one_use_case_share_one_timestamp_and_correlation(database, apps):
    clock = TickingClock()
    app = make_app(database, clock)
    apps.append(app)
    a = open_funded(app, "100.00")
    b = open_funded(app)
    causation = Causation(actor="service:ingestion", correlation_id="corr-123", channel="STOMP")
    with caused_by(causation):
        result = app.submit_payment(payment(debtor=a, creditor=b, amount="10.00"))
    events = events_of_use_case(app, txid(result), [a, b])
    assert {type(e).__name__ for e in events} == {
        "Received",
        "Screened",
        "Posted",
        "Debited",
        "Credited",
    }
    assert len({e.timestamp for e in events}) == 1
    (stamp,) = {e.timestamp for e in events}
    assert stamp.tzinfo is not None
    assert datetime(2026, 11, 23, 10, tzinfo=UTC) < stamp <= clock.now
    assert {(e.actor, e.correlation_id, e.via_channel) for e in events} == {
        ("service:ingestion", "corr-123", "STOMP")
    }


def test_without_causation_each_use_case_gets_its_own_correlation_id(app):
    a = open_funded(app, "100.00")
    b = open_funded(app)
    first = app.submit_payment(payment(debtor=a, creditor=b, amount="1.00"))
    second = app.submit_payment(payment(debtor=a, creditor=b, amount="2.00"))
    ids = []
    for result in (first, second):
        events = events_of_use_case(app, txid(result), [a, b])
        correlation = {e.correlation_id for e in events}
        assert len(correlation) == 1
        ids.append(correlation.pop())
        assert {e.actor for e in events} == {"service:system"}
    assert ids[0] != ids[1]


def test_event_timestamps_come_from_the_injected_clock(app, clock):
    clock.advance(3600)
    key = open_funded(app, "5.00")
    (opened, credited) = account_events(app, key)
    assert opened.timestamp == credited.timestamp == clock.now
    clock.advance(60)
    app.freeze_account(key, "x")
    assert account_events(app, key)[-1].timestamp == clock.now


def test_reversal_events_share_one_timestamp_and_correlation(app, clock):
    a = open_funded(app, "100.00")
    b = open_funded(app)
    original = app.submit_payment(payment(debtor=a, creditor=b, amount="10.00"))
    clock.advance(90)
    with caused_by(Causation(actor="user:op1", correlation_id="rev-1", channel="GRAPHQL")):
        reversal = app.reverse(txid(original), "wrong beneficiary")
    events = events_of_use_case(app, txid(reversal), [a, b])
    events.append(list(app.events.get(txid(original)))[-1])  # the Reversed event
    assert type(events[-1]).__name__ == "Reversed"
    assert {e.timestamp for e in events} == {clock.now}
    assert {(e.actor, e.correlation_id, e.via_channel) for e in events} == {
        ("user:op1", "rev-1", "GRAPHQL")
    }


# -- replay and snapshots ------------------------------------------------------------------------


def full_state(app: LedgerApplication, keys: list[str], tx_ids: list[uuid.UUID]) -> dict:
    state: dict = {}
    for key in keys:
        account = app.get_account(key)
        state[key] = (
            account.state(),
            dict(account.holds),
            account.overdraft_limit,
            account.version,
        )
    for tx_id in tx_ids:
        tx = app.get_transaction(tx_id)
        state[str(tx_id)] = (
            str(tx.status),
            tx.rejection_reason,
            sorted((leg.account_key, leg.amount) for leg in tx.legs()),
            tx.reversed_by,
            tx.reverses,
            tx.amount,
            tx.version,
        )
    return state


def test_a_new_instance_replays_the_same_state(app, new_app, clock):
    a = open_funded(app, "3000.00", overdraft="100")
    b = open_funded(app, country="NL")
    c = open_funded(app, currency="JPY", country="GB")
    results = [
        app.submit_payment(payment(debtor=a, creditor=b, amount="100.00")),
        app.submit_payment(payment(debtor=a, amount="1500.00")),  # held
        app.submit_payment(payment(debtor=iban("FR"), creditor=c, amount="700", currency="JPY")),
        app.submit_payment(payment(debtor=b, amount="500.00")),  # insufficient
    ]
    clock.advance(86400)
    reversal = app.reverse(txid(results[0]), "undo")
    app.freeze_account(b, "check")
    keys = [a, b, c, "clearing:EUR", "clearing:JPY"]
    tx_ids = [txid(r) for r in [*results, reversal]]
    expected = full_state(app, keys, tx_ids)
    replayed = full_state(new_app(), keys, tx_ids)
    assert replayed == expected
    assert expected[a][0]["held"] == Decimal("1500.00")
    assert expected[b][0]["status"] == "FROZEN"


def test_snapshots_keep_long_account_streams_loadable(app, new_app):
    key = open_funded(app)
    total = Decimal(0)
    batch = []
    for n in range(1, 521):
        amount = Decimal(n % 97 + 1).scaleb(-2) + 1
        total += amount
        batch.append(payment(debtor=iban("FR"), creditor=key, amount=str(amount)))
    for start in range(0, len(batch), 130):
        results = app.submit_payments(batch[start : start + 130])
        assert {r.status for r in results} == {"POSTED"}
    account = app.get_account(key)
    assert account.version > 500
    assert account.balance == total
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(account.id))
    assert snapshots, "an account with more than 500 events has a snapshot"
    assert snapshots[-1].originator_version % 500 == 0
    # A fresh instance loads from the snapshot and the events after it.
    fresh = new_app()
    loaded = fresh.get_account(key)
    assert loaded.balance == total
    assert loaded.version == account.version
    assert loaded.state() == account.state()
    # ...and the loaded account still works.
    result = fresh.submit_payment(payment(debtor=key, amount="1.00"))
    assert result.status == "POSTED"
    fresh.freeze_account(key, "after snapshot")
    assert new_app().get_account(key).balance == total - 1
    assert new_app().get_account(key).status == AccountStatus.FROZEN


def test_sum_of_balances_is_zero_per_currency(app):
    a = open_funded(app, "500.00")
    b = open_funded(app, "20.00", overdraft="50")
    j = open_funded(app, "1000", currency="JPY")
    app.submit_payment(payment(debtor=a, creditor=b, amount="70.00"))
    app.submit_payment(payment(debtor=b, amount="120.00"))
    app.submit_payment(payment(debtor=j, amount="300", currency="JPY"))
    assert currency_total(app, [a, b]) == 0
    assert currency_total(app, [j], "JPY") == 0


# -- two instances on one store (two processes) ------------------------------------------------
#
# Each instance keeps its own in-memory view of recently used accounts. What another
# instance committed in between must still decide every answer.


def test_funds_spent_through_another_instance_are_not_spent_twice(app, new_app):
    key = open_funded(app, "3000.00")
    app.submit_payment(payment(debtor=key, amount="10.00"))  # app now knows the account
    other = new_app()
    assert other.submit_payment(payment(debtor=key, amount="900.00")).status == "POSTED"
    assert other.submit_payment(payment(debtor=key, amount="900.00")).status == "POSTED"
    assert other.submit_payment(payment(debtor=key, amount="900.00")).status == "POSTED"
    result = app.submit_payment(payment(debtor=key, amount="500.00"))
    assert_rejected(app, result, "INSUFFICIENT_FUNDS")
    assert balance(app, key) == Decimal("290.00")


def test_a_freeze_by_another_instance_stops_debits(app, new_app):
    key = open_funded(app, "100.00")
    app.submit_payment(payment(debtor=key, amount="1.00"))
    new_app().freeze_account(key, "fraud team")
    assert_rejected(app, app.submit_payment(payment(debtor=key, amount="1.00")), "ACCOUNT_FROZEN")
    assert balance(app, key) == Decimal("99.00")


def test_the_daily_limit_counts_outflow_booked_by_another_instance(app, new_app):
    key = open_funded(app, "9000.00")
    app.submit_payment(payment(debtor=key, amount="1000.00"))
    other = new_app()
    for _ in range(7):
        assert other.submit_payment(payment(debtor=key, amount="1000.00")).status == "POSTED"
    result = app.submit_payment(payment(debtor=key, amount="0.01"))
    assert_rejected(app, result, "SCREENING_DECLINED")


@pytest.mark.parametrize("amount", ["15.00", "1500.00"], ids=["approved", "for-review"])
def test_a_payment_to_an_account_closed_by_another_instance_is_rejected(app, new_app, amount):
    """A payment to an account that is closed must be rejected ACCOUNT_CLOSED, whether it
    would be posted at once or held for review, and whichever instance closed it."""
    debtor = open_funded(app, "3000.00")
    creditor = open_funded(app)
    app.submit_payment(payment(debtor=debtor, creditor=creditor, amount="10.00"))
    app.submit_payment(payment(debtor=creditor, amount="10.00"))  # empty again
    new_app().close_account(creditor, "closed at the branch")
    result = app.submit_payment(payment(debtor=debtor, creditor=creditor, amount=amount))
    assert_rejected(app, result, "ACCOUNT_CLOSED")
    assert app.get_account(debtor).held == 0


# -- concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_transfers_from_two_processes_lose_no_update(postgres_database):
    """Two application instances (two processes, each with its own lock), three threads
    each, transfer between five accounts at once; afterwards every invariant holds."""
    start = FakeClock()
    first = make_app(postgres_database, start)
    second = make_app(postgres_database, start)
    apps = [first, second]
    conflicts = Counter()
    for n, app in enumerate(apps):
        original_save = app.save

        def counting_save(*objs, _save=original_save, _n=n, **kw):
            try:
                return _save(*objs, **kw)
            except IntegrityError:
                conflicts[_n] += 1
                raise

        app.save = counting_save  # type: ignore[method-assign]
    try:
        overdrafts = {}
        keys = []
        for n in range(5):
            overdraft = str(50 * n)
            key = open_funded(first, "400.00", overdraft=overdraft)
            keys.append(key)
            overdrafts[key] = Decimal(overdraft)
        outcomes: list[tuple[str, str, Decimal, SubmissionResult]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        deadline = time.monotonic() + 20

        def worker(app: LedgerApplication, seed: int) -> None:
            rng = random.Random(seed)
            try:
                for n in range(25):
                    if time.monotonic() > deadline:
                        return
                    debtor, creditor = rng.sample(keys, 2)
                    amount = Decimal(rng.randint(1, 15000)).scaleb(-2)
                    instruction = payment(
                        debtor=debtor,
                        creditor=creditor,
                        amount=str(amount),
                        external_id=f"C-{seed}-{n}",
                    )
                    for _ in range(5):
                        try:
                            result = app.submit_payment(instruction)
                            break
                        except ConcurrencyExhausted:
                            continue  # the same key again: idempotent by contract
                    else:
                        raise AssertionError("five rounds of retries exhausted")
                    with lock:
                        outcomes.append((debtor, creditor, amount, result))
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [
            threading.Thread(target=worker, args=(app, 10 * i + j))
            for i, app in enumerate(apps)
            for j in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "workers did not finish in time"
        assert not errors, errors

        posted = [o for o in outcomes if o[3].status == "POSTED"]
        assert posted, "some transfers must succeed"
        assert len({o[3].transaction_id for o in outcomes}) == len(outcomes)
        assert all(not o[3].duplicate for o in outcomes)
        expected = defaultdict(lambda: Decimal("400.00"))
        for debtor, creditor, amount, _ in posted:
            expected[debtor] -= amount
            expected[creditor] += amount
        for reader in (first, second, make_app(postgres_database, start)):
            if reader not in apps:
                apps.append(reader)
            for key in keys:
                account = reader.get_account(key)
                assert account.balance == expected[key], key
                assert account.balance >= -overdrafts[key]
                # The balance is exactly the sum of the movements in the account's stream.
                movements = ZERO
                tx_seen = []
                for e in reader.events.get(account.id):
                    if type(e).__name__ == "Credited":
                        movements += e.amount
                        tx_seen.append(e.transaction_id)
                    elif type(e).__name__ == "Debited":
                        movements -= e.amount
                        tx_seen.append(e.transaction_id)
                assert movements == account.balance
                assert len(tx_seen) == len(set(tx_seen)), "a transaction moved money twice"
            assert currency_total(reader, keys) == 0
        # Every result a client was given is what the store says.
        for *_, result in outcomes:
            assert str(first.get_transaction(txid(result)).status) == result.status
        assert sum(conflicts.values()) > 0, "the test did not provoke any write conflict"
    finally:
        for app in apps:
            app.close()


def test_an_instance_whose_clock_lags_never_records_back_in_time(new_app, clock):
    """Two processes, the second's clock an hour behind: each account's events keep going
    forward in time, so point-in-time queries see them in the order they happened."""
    ahead = new_app(clock)
    behind_clock = FakeClock(clock() - timedelta(hours=1))
    behind = new_app(behind_clock)
    a = open_funded(ahead, "100.00")
    clock.advance(60)
    ahead.submit_payment(payment(debtor=a, amount="10.00"))
    behind.submit_payment(payment(debtor=a, amount="5.00"))
    account = behind.get_account(a)
    assert account.balance == Decimal("85.00")
    stamps = [e.timestamp for e in behind.repository.event_store.get(account.id)]
    assert stamps == sorted(stamps)
    assert stamps[-1] >= clock()
