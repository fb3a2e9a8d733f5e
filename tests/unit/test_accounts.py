"""Ledger accounts as in-memory aggregates: debit/credit, holds, overdraft, status lifecycle."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from domain.causation import Causation, caused_by
from domain.errors import (
    AccountStateError,
    InvalidAccountCode,
    InvalidMoney,
    PostingRefused,
    RejectionReason,
)
from domain.iban import Iban
from domain.ledger.accounts import (
    Account,
    AccountStatus,
    AccountType,
    internal_code,
    parse_internal_code,
)
from domain.ledger.ids import account_id
from tests.builders import iban

DAY = "2026-11-23"


def customer(balance: str = "0", overdraft: str = "0", currency: str = "EUR") -> Account:
    account = Account.open_customer(Iban(iban("DE")), "Erika Muster", currency, Decimal(overdraft))
    if Decimal(balance) > 0:
        account.credit(uuid.uuid4(), Decimal(balance))
    return account


def tx() -> uuid.UUID:
    return uuid.uuid4()


# -- opening -------------------------------------------------------------------------


def test_open_customer_account():
    value = iban("DE", 1)
    account = Account.open_customer(Iban(value), "  Erika Muster ", "EUR", Decimal("50"))
    assert account.key == value
    assert account.id == account_id(value)
    assert account.account_type == AccountType.CUSTOMER
    assert account.status == AccountStatus.OPEN
    assert account.currency == "EUR"
    assert account.holder_name == "Erika Muster"
    assert account.overdraft_limit == Decimal("50.00")
    assert account.balance == 0
    assert account.held == 0
    assert account.available == 0
    assert not account.is_internal
    assert [type(e).__name__ for e in account.collect_events()] == ["Opened"]


def test_account_id_is_deterministic_per_key():
    value = iban("DE", 2)
    a = Account.open_customer(Iban(value), "A", "EUR", Decimal(0))
    b = Account.open_customer(Iban(value), "B", "EUR", Decimal(0))
    assert a.id == b.id
    assert a.id != Account.open_customer(Iban(iban("DE", 3)), "A", "EUR", Decimal(0)).id


@pytest.mark.parametrize(
    ("currency", "overdraft", "error"),
    [
        ("EUR", "-1", AccountStateError),
        ("EUR", "0.001", InvalidMoney),
        ("XAU", "0", InvalidMoney),
        ("ABC", "0", InvalidMoney),
    ],
)
def test_open_customer_refuses_bad_terms(currency, overdraft, error):
    with pytest.raises(error):
        Account.open_customer(Iban(iban("DE")), "Name", currency, Decimal(overdraft))


def test_open_customer_refuses_blank_holder_name():
    with pytest.raises(AccountStateError, match="holder name"):
        Account.open_customer(Iban(iban("DE")), "   ", "EUR", Decimal(0))


@pytest.mark.parametrize("kind", ["clearing", "suspense", "fees"])
def test_open_internal_accounts(kind):
    account = Account.open_internal(f"{kind}:EUR")
    assert account.key == f"{kind}:EUR"
    assert account.id == account_id(f"{kind}:EUR")
    assert account.is_internal
    assert account.account_type == AccountType.INTERNAL
    assert account.overdraft_limit is None
    assert internal_code(kind, "JPY") == f"{kind}:JPY"
    assert parse_internal_code(f"{kind}:USD") == (kind, "USD")


@pytest.mark.parametrize("code", ["clearing", "clearing:", "nostro:EUR", "clearing:XAU", "x:y:z"])
def test_invalid_internal_codes(code):
    with pytest.raises((InvalidAccountCode, InvalidMoney)):
        Account.open_internal(code)


# -- debit and credit -----------------------------------------------------------------


def test_credit_and_debit_move_the_balance():
    account = customer()
    account.credit(tx(), Decimal("100.00"))
    account.debit(tx(), Decimal("30.50"), DAY)
    assert account.balance == Decimal("69.50")
    assert account.available == Decimal("69.50")
    names = [type(e).__name__ for e in account.collect_events()]
    assert names == ["Opened", "Credited", "Debited"]


def test_debit_events_carry_transaction_amount_and_booking_date():
    account = customer("10")
    account.collect_events()
    t = tx()
    account.debit(t, Decimal("4.00"), DAY)
    (debited,) = account.collect_events()
    assert debited.transaction_id == t
    assert debited.amount == Decimal("4.00")
    assert debited.booking_date == DAY


def test_debit_beyond_the_balance_without_overdraft_is_refused():
    account = customer("10")
    with pytest.raises(PostingRefused) as refused:
        account.debit(tx(), Decimal("10.01"), DAY)
    assert refused.value.reason is RejectionReason.INSUFFICIENT_FUNDS
    assert account.balance == Decimal("10.00")


def test_debit_down_to_zero_is_allowed():
    account = customer("10")
    account.debit(tx(), Decimal("10.00"), DAY)
    assert account.balance == 0


def test_overdraft_limit_allows_going_negative_up_to_the_limit():
    account = customer("10", overdraft="100")
    account.debit(tx(), Decimal("110.00"), DAY)
    assert account.balance == Decimal("-100.00")
    with pytest.raises(PostingRefused) as refused:
        account.debit(tx(), Decimal("0.01"), DAY)
    assert refused.value.reason is RejectionReason.INSUFFICIENT_FUNDS
    assert account.balance == Decimal("-100.00")


def test_internal_accounts_may_run_negative_without_limit():
    clearing = Account.open_internal("clearing:EUR")
    clearing.debit(tx(), Decimal("1000000.00"), DAY)
    assert clearing.balance == Decimal("-1000000.00")


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_non_positive_amounts_are_refused(amount):
    account = customer("10")
    with pytest.raises(PostingRefused):
        account.debit(tx(), Decimal(amount), DAY)
    with pytest.raises(PostingRefused):
        account.credit(tx(), Decimal(amount))
    assert account.balance == Decimal("10.00")


def test_amounts_beyond_the_currency_scale_are_refused():
    account = customer("10")
    with pytest.raises(InvalidMoney):
        account.credit(tx(), Decimal("1.005"))
    jpy = customer(currency="JPY")
    with pytest.raises(InvalidMoney):
        jpy.credit(tx(), Decimal("1.5"))


def test_daily_outflow_is_tracked_per_booking_date():
    account = customer("100")
    account.debit(tx(), Decimal("10"), "2026-11-23")
    account.debit(tx(), Decimal("5"), "2026-11-23")
    assert account.outflow_on("2026-11-23") == Decimal("15.00")
    assert account.outflow_on("2026-11-24") == 0
    account.debit(tx(), Decimal("1"), "2026-11-24")
    assert account.outflow_on("2026-11-24") == Decimal("1.00")
    assert account.outflow_on("2026-11-23") == 0  # only the latest day is kept


def test_credits_do_not_count_as_outflow():
    account = customer()
    account.credit(tx(), Decimal("50"))
    assert account.outflow_on(DAY) == 0


# -- holds ----------------------------------------------------------------------------


def test_hold_reduces_available_not_balance():
    account = customer("100")
    t = tx()
    account.place_hold(t, Decimal("40"))
    assert account.balance == Decimal("100.00")
    assert account.held == Decimal("40.00")
    assert account.available == Decimal("60.00")
    account.release_hold(t)
    assert account.held == 0
    assert account.available == Decimal("100.00")


def test_holds_count_against_the_funds_for_debits_and_further_holds():
    account = customer("100", overdraft="10")
    account.place_hold(tx(), Decimal("80"))
    with pytest.raises(PostingRefused) as refused:
        account.debit(tx(), Decimal("30.01"), DAY)
    assert refused.value.reason is RejectionReason.INSUFFICIENT_FUNDS
    with pytest.raises(PostingRefused):
        account.place_hold(tx(), Decimal("30.01"))
    account.debit(tx(), Decimal("30.00"), DAY)
    assert account.available == Decimal("-10.00")


def test_a_debit_replacing_a_hold_counts_the_hold_as_available():
    account = customer("100")
    t = tx()
    account.place_hold(t, Decimal("100"))
    with pytest.raises(PostingRefused):
        account.check_can_debit(Decimal("100"))
    account.check_can_debit(Decimal("100"), releasing_hold=str(t))


def test_same_transaction_cannot_hold_twice():
    account = customer("100")
    t = tx()
    account.place_hold(t, Decimal("10"))
    with pytest.raises(AccountStateError):
        account.place_hold(t, Decimal("10"))
    assert account.held == Decimal("10.00")


def test_releasing_an_unknown_hold_is_refused():
    account = customer("100")
    with pytest.raises(AccountStateError):
        account.release_hold(tx())


# -- status -----------------------------------------------------------------------------


def test_frozen_account_takes_credit_but_no_debit_or_hold():
    account = customer("100")
    account.freeze("court order")
    assert account.status == AccountStatus.FROZEN
    account.credit(tx(), Decimal("5"))
    assert account.balance == Decimal("105.00")
    with pytest.raises(PostingRefused) as refused:
        account.debit(tx(), Decimal("1"), DAY)
    assert refused.value.reason is RejectionReason.ACCOUNT_FROZEN
    with pytest.raises(PostingRefused) as refused:
        account.place_hold(tx(), Decimal("1"))
    assert refused.value.reason is RejectionReason.ACCOUNT_FROZEN
    assert account.balance == Decimal("105.00")


def test_unfreeze_restores_debits():
    account = customer("100")
    account.freeze("check")
    account.unfreeze("cleared")
    assert account.status == AccountStatus.OPEN
    account.debit(tx(), Decimal("1"), DAY)
    assert account.balance == Decimal("99.00")
    names = [type(e).__name__ for e in account.collect_events()]
    assert names[-3:] == ["Frozen", "Unfrozen", "Debited"]


def test_closed_account_takes_neither_debit_nor_credit():
    account = customer()
    account.close("customer request")
    assert account.status == AccountStatus.CLOSED
    with pytest.raises(PostingRefused) as refused:
        account.credit(tx(), Decimal("1"))
    assert refused.value.reason is RejectionReason.ACCOUNT_CLOSED
    with pytest.raises(PostingRefused) as refused:
        account.debit(tx(), Decimal("1"), DAY)
    assert refused.value.reason is RejectionReason.ACCOUNT_CLOSED
    assert account.balance == 0


def test_close_requires_zero_balance():
    account = customer("0.01")
    with pytest.raises(AccountStateError, match="balance"):
        account.close("bye")
    assert account.status == AccountStatus.OPEN


def test_close_refuses_a_negative_balance():
    account = customer("0", overdraft="10")
    account.debit(tx(), Decimal("1"), DAY)
    with pytest.raises(AccountStateError):
        account.close("bye")


def test_close_requires_no_holds():
    account = customer("10")
    t = tx()
    account.place_hold(t, Decimal("10"))
    with pytest.raises(AccountStateError, match="holds"):
        account.close("bye")
    account.release_hold(t)
    account.debit(tx(), Decimal("10"), DAY)
    account.close("bye")
    assert account.status == AccountStatus.CLOSED


def test_a_frozen_empty_account_can_be_closed():
    account = customer()
    account.freeze("x")
    account.close("y")
    assert account.status == AccountStatus.CLOSED


@pytest.mark.parametrize(
    ("setup", "operation"),
    [
        (["freeze"], "freeze"),  # already frozen
        ([], "unfreeze"),  # not frozen
        (["close"], "freeze"),
        (["close"], "unfreeze"),
        (["close"], "close"),
    ],
)
def test_disallowed_status_changes_raise(setup, operation):
    account = customer()
    for step in setup:
        getattr(account, step)("setup")
    before = account.status
    with pytest.raises(AccountStateError):
        getattr(account, operation)("again")
    assert account.status == before


@pytest.mark.parametrize("operation", ["freeze", "close"])
def test_internal_accounts_cannot_be_frozen_or_closed(operation):
    clearing = Account.open_internal("clearing:EUR")
    with pytest.raises(AccountStateError, match="internal"):
        getattr(clearing, operation)("no")
    assert clearing.status == AccountStatus.OPEN


# -- causation ---------------------------------------------------------------------------


def test_events_carry_the_causation_in_force():
    causation = Causation(actor="user:alice", correlation_id="corr-42", channel="GRAPHQL")
    with caused_by(causation):
        account = customer()
        account.credit(tx(), Decimal("5"))
        account.freeze("fraud suspicion")
    events = account.collect_events()
    assert len(events) == 3
    for e in events:
        assert e.actor == "user:alice"
        assert e.correlation_id == "corr-42"
        assert e.via_channel == "GRAPHQL"


def test_events_without_causation_are_attributed_to_the_system():
    account = customer()
    (opened,) = account.collect_events()
    assert opened.actor == "service:system"
    assert opened.via_channel == "SYSTEM"
    assert opened.correlation_id


def test_state_is_rebuilt_from_events():
    account = customer("100", overdraft="20")
    t = tx()
    account.place_hold(t, Decimal("30"))
    account.debit(tx(), Decimal("50"), DAY)
    account.freeze("x")
    events = account.collect_events()
    rebuilt = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None
    assert rebuilt.state() == account.state()
    assert rebuilt.holds == account.holds
    assert rebuilt.version == account.version


# -- overdraft limit -------------------------------------------------------------------


def test_an_absurd_overdraft_limit_is_refused_at_opening() -> None:
    with pytest.raises(InvalidMoney, match="exceeds 12 integer digits"):
        customer(overdraft="999999999999999999.99")
    assert customer(overdraft="999999999999.99").overdraft_limit == Decimal("999999999999.99")


def test_a_changed_overdraft_limit_governs_the_next_debit() -> None:
    account = customer(balance="10.00")
    with pytest.raises(PostingRefused):
        account.check_can_debit(Decimal("50.00"))
    account.change_overdraft_limit(Decimal("40"), "credit line")
    account.check_can_debit(Decimal("50.00"))
    assert account.overdraft_limit == Decimal("40.00")
    restored = None
    for stored in account.collect_events():  # replay gives the same limit
        restored = stored.mutate(restored)
    assert isinstance(restored, Account) and restored.overdraft_limit == Decimal("40.00")


@pytest.mark.parametrize(
    ("limit", "error"),
    [("-1", AccountStateError), ("1.001", InvalidMoney), ("1000000000000", InvalidMoney)],
)
def test_a_bad_overdraft_limit_change_is_refused(limit: str, error: type[Exception]) -> None:
    account = customer()
    with pytest.raises(error):
        account.change_overdraft_limit(Decimal(limit), "why")
    assert account.overdraft_limit == Decimal("0.00")


def test_only_an_unclosed_customer_account_changes_its_overdraft_limit() -> None:
    internal = Account.open_internal("clearing:EUR")
    with pytest.raises(AccountStateError, match="internal"):
        internal.change_overdraft_limit(Decimal(1), "why")
    closed = customer()
    closed.close("done")
    with pytest.raises(AccountStateError, match="closed"):
        closed.change_overdraft_limit(Decimal(1), "why")
    with pytest.raises(AccountStateError, match="reason"):
        customer().change_overdraft_limit(Decimal(1), "  ")


def test_a_clone_is_an_independent_copy_of_the_account():
    """The working set hands out clones: a command on one leaves the original as it was."""
    account = Account.open_internal("suspense:EUR")
    tx = uuid.uuid4()
    account.credit(tx, Decimal("50.00"))
    account.place_hold(tx, Decimal("10.00"))
    account.collect_events()
    before = (account.state(), dict(account.holds), account.version)

    clone = account.clone()
    assert type(clone) is Account and clone.id == account.id
    assert (clone.state(), clone.holds, clone.version) == before
    clone.debit(uuid.uuid4(), Decimal("5.00"), "2026-11-23")
    clone.release_hold(tx)
    clone.place_hold(uuid.uuid4(), Decimal("1.00"))

    assert (account.state(), dict(account.holds), account.version) == before
    assert account.pending_events == []
    assert len(clone.pending_events) == 3
