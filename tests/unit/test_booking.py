"""Booking: routing rules of double entry, posting, holds and reversal on in-memory aggregates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.causation import Causation, caused_by
from domain.errors import AccountStateError, PostingRefused, RejectionReason
from domain.iban import Iban
from domain.ledger import booking
from domain.ledger.accounts import Account, InternalAccountRef
from domain.ledger.transactions import ScreeningOutcome, Transaction, TransactionStatus
from tests.builders import iban

DAY = "2026-11-23"


def customer(balance: str = "0", overdraft: str = "0", currency: str = "EUR") -> Account:
    account = Account.open_customer(Iban(iban("DE")), "Holder", currency, Decimal(overdraft))
    if Decimal(balance):
        clearing = InternalAccountRef.of(f"clearing:{currency}")
        seed = new_tx(amount=balance, currency=currency)
        booking.post_payment(seed, booking.Route(debit=clearing, credit=account), DAY)
    return account


_counter = iter(range(1, 10**9))


def new_tx(
    amount: str = "10.00",
    currency: str = "EUR",
    debtor: Account | None = None,
    creditor: Account | None = None,
    reverses=None,
) -> Transaction:
    t = Transaction(
        channel="TEST",
        external_id=f"T-{next(_counter)}",
        amount=Decimal(amount),
        currency=currency,
        debtor_iban=debtor.key if debtor else iban("FR"),
        debtor_name="D",
        creditor_iban=creditor.key if creditor else iban("FR"),
        creditor_name="C",
        reference="ref",
        requested_at=None,
        metadata={},
        reverses=reverses,
    )
    t.record_screening(ScreeningOutcome.APPROVE, [], None, None)
    return t


@pytest.fixture
def clearing() -> InternalAccountRef:
    """Clearing as a payment names it: never loaded, never written."""
    return InternalAccountRef.of("clearing:EUR")


# -- routing ----------------------------------------------------------------------------


def test_both_ours_is_an_internal_transfer(clearing):
    debtor, creditor = customer("100"), customer()
    route = booking.route_payment(debtor, creditor, clearing, "EUR")
    assert route.debit is debtor
    assert route.credit is creditor


def test_only_debtor_ours_credits_clearing(clearing):
    debtor = customer("100")
    route = booking.route_payment(debtor, None, clearing, "EUR")
    assert route.debit is debtor
    assert route.credit is clearing


def test_only_creditor_ours_debits_clearing(clearing):
    creditor = customer()
    route = booking.route_payment(None, creditor, clearing, "EUR")
    assert route.debit is clearing
    assert route.credit is creditor


def test_neither_ours_is_unknown_account(clearing):
    with pytest.raises(PostingRefused) as refused:
        booking.route_payment(None, None, clearing, "EUR")
    assert refused.value.reason is RejectionReason.UNKNOWN_ACCOUNT


def test_same_account_on_both_sides_is_refused(clearing):
    account = customer("100")
    with pytest.raises(PostingRefused) as refused:
        booking.route_payment(account, account, clearing, "EUR")
    assert refused.value.reason is RejectionReason.SAME_ACCOUNT


@pytest.mark.parametrize("side", ["debtor", "creditor", "both"])
def test_currency_mismatch_is_refused(side):
    usd = InternalAccountRef.of("clearing:USD")
    eur_account = customer(currency="EUR")
    usd_account = customer(currency="USD")
    debtor = eur_account if side in ("debtor", "both") else usd_account
    creditor = eur_account if side == "creditor" else None
    if side == "both":
        creditor = customer(currency="EUR")
    with pytest.raises(PostingRefused) as refused:
        booking.route_payment(debtor, creditor, usd, "USD")
    assert refused.value.reason is RejectionReason.CURRENCY_MISMATCH


def test_clearing_in_the_wrong_currency_is_refused(clearing):
    with pytest.raises(PostingRefused) as refused:
        booking.route_payment(None, customer(currency="USD"), clearing, "USD")
    assert refused.value.reason is RejectionReason.CURRENCY_MISMATCH


# -- posting -------------------------------------------------------------------------------


def test_internal_transfer_moves_money_and_records_balanced_legs(clearing):
    debtor, creditor = customer("100"), customer()
    t = new_tx("30.00", debtor=debtor, creditor=creditor)
    booking.post_payment(t, booking.route_payment(debtor, creditor, clearing, "EUR"), DAY)
    assert t.status == TransactionStatus.POSTED
    assert debtor.balance == Decimal("70.00")
    assert creditor.balance == Decimal("30.00")
    assert {(leg.account_key, leg.amount) for leg in t.legs()} == {
        (debtor.key, Decimal("-30.00")),
        (creditor.key, Decimal("30.00")),
    }


def legs_on(key: str, *txs: Transaction) -> Decimal:
    """An internal account's balance: the sum of the legs naming it."""
    return sum((leg.amount for t in txs for leg in t.legs() if leg.account_key == key), Decimal(0))


def test_outgoing_payment_credits_clearing_and_keeps_the_sum_zero(clearing):
    debtor = Account.open_customer(Iban(iban("DE")), "H", "EUR", Decimal(0))
    incoming = new_tx("100.00", creditor=debtor)
    booking.post_payment(incoming, booking.route_payment(None, debtor, clearing, "EUR"), DAY)
    assert legs_on("clearing:EUR", incoming) == Decimal("-100.00")
    out = new_tx("40.00", debtor=debtor)
    booking.post_payment(out, booking.route_payment(debtor, None, clearing, "EUR"), DAY)
    assert debtor.balance == Decimal("60.00")
    assert legs_on("clearing:EUR", incoming, out) == Decimal("-60.00")
    assert debtor.balance + legs_on("clearing:EUR", incoming, out) == 0
    assert {leg.account_id for leg in out.legs()} == {debtor.id, clearing.id}


def test_a_held_incoming_payment_reserves_nothing_on_clearing(clearing):
    creditor = customer()
    t = new_tx("500.00", creditor=creditor)
    route = booking.route_payment(None, creditor, clearing, "EUR")
    booking.hold_payment(t, route)
    assert t.status == TransactionStatus.HELD and t.hold_account_id == clearing.id
    booking.release_held_payment(t, route, DAY)
    assert creditor.balance == Decimal("500.00")
    assert legs_on("clearing:EUR", t) == Decimal("-500.00")


def test_reversal_mirrors_a_clearing_leg_without_loading_clearing(clearing):
    creditor = customer()
    original = new_tx("25.00", creditor=creditor)
    booking.post_payment(original, booking.route_payment(None, creditor, clearing, "EUR"), DAY)
    reversal = new_tx("25.00", debtor=creditor, reverses=original.id)
    booking.reverse_postings(original, reversal, {str(creditor.id): creditor}, DAY)
    assert creditor.balance == 0
    assert legs_on("clearing:EUR", original, reversal) == 0


@pytest.mark.parametrize(
    ("debtor_kw", "reason"),
    [
        ({"balance": "10", "overdraft": "0"}, RejectionReason.INSUFFICIENT_FUNDS),
        ({"balance": "0", "overdraft": "5"}, RejectionReason.INSUFFICIENT_FUNDS),
    ],
)
def test_refused_debit_leaves_no_half_applied_state(clearing, debtor_kw, reason):
    debtor, creditor = customer(**debtor_kw), customer()
    debtor.collect_events()
    creditor.collect_events()
    t = new_tx("10.01", debtor=debtor, creditor=creditor)
    t.collect_events()
    with pytest.raises(PostingRefused) as refused:
        booking.post_payment(t, booking.route_payment(debtor, creditor, clearing, "EUR"), DAY)
    assert refused.value.reason is reason
    assert debtor.collect_events() == []
    assert creditor.collect_events() == []
    assert t.collect_events() == []


def test_credit_to_a_closed_account_is_refused_before_the_debit(clearing):
    debtor, creditor = customer("100"), customer()
    creditor.close("gone")
    debtor.collect_events()
    t = new_tx("10.00", debtor=debtor, creditor=creditor)
    with pytest.raises(PostingRefused) as refused:
        booking.post_payment(t, booking.route_payment(debtor, creditor, clearing, "EUR"), DAY)
    assert refused.value.reason is RejectionReason.ACCOUNT_CLOSED
    assert debtor.balance == Decimal("100.00")
    assert debtor.collect_events() == []


def test_frozen_debtor_is_refused_but_frozen_creditor_is_credited(clearing):
    debtor, creditor = customer("100"), customer()
    debtor.freeze("x")
    with pytest.raises(PostingRefused) as refused:
        booking.post_payment(
            new_tx(debtor=debtor, creditor=creditor),
            booking.route_payment(debtor, creditor, clearing, "EUR"),
            DAY,
        )
    assert refused.value.reason is RejectionReason.ACCOUNT_FROZEN
    debtor.unfreeze("y")
    creditor.freeze("z")
    booking.post_payment(
        new_tx("10.00", debtor=debtor, creditor=creditor),
        booking.route_payment(debtor, creditor, clearing, "EUR"),
        DAY,
    )
    assert creditor.balance == Decimal("10.00")


# -- holds ----------------------------------------------------------------------------------


def test_hold_then_release_posts_and_clears_the_hold(clearing):
    debtor, creditor = customer("100"), customer()
    t = new_tx("60.00", debtor=debtor, creditor=creditor)
    route = booking.route_payment(debtor, creditor, clearing, "EUR")
    booking.hold_payment(t, route)
    assert t.status == TransactionStatus.HELD
    assert debtor.balance == Decimal("100.00")
    assert debtor.available == Decimal("40.00")
    assert creditor.balance == 0
    booking.release_held_payment(t, route, DAY)
    assert t.status == TransactionStatus.POSTED
    assert debtor.held == 0
    assert debtor.balance == Decimal("40.00")
    assert creditor.balance == Decimal("60.00")


def test_a_held_payment_of_all_available_funds_can_still_be_released(clearing):
    debtor, creditor = customer("100"), customer()
    t = new_tx("100.00", debtor=debtor, creditor=creditor)
    route = booking.route_payment(debtor, creditor, clearing, "EUR")
    booking.hold_payment(t, route)
    assert debtor.available == 0
    booking.release_held_payment(t, route, DAY)
    assert debtor.balance == 0


def test_hold_then_reject_gives_the_funds_back(clearing):
    debtor, creditor = customer("100"), customer()
    t = new_tx("60.00", debtor=debtor, creditor=creditor)
    booking.hold_payment(t, booking.route_payment(debtor, creditor, clearing, "EUR"))
    booking.reject_held_payment(t, debtor, RejectionReason.OPERATOR_REJECTED, "no")
    assert t.status == TransactionStatus.REJECTED
    assert t.rejection_reason == "OPERATOR_REJECTED"
    assert debtor.available == Decimal("100.00")
    assert debtor.balance == Decimal("100.00")
    assert creditor.balance == 0


def test_hold_beyond_available_is_refused(clearing):
    debtor, creditor = customer("50"), customer()
    t = new_tx("50.01", debtor=debtor, creditor=creditor)
    with pytest.raises(PostingRefused):
        booking.hold_payment(t, booking.route_payment(debtor, creditor, clearing, "EUR"))
    assert debtor.held == 0
    assert t.status == TransactionStatus.SCREENED


def test_rejecting_a_hold_twice_is_refused(clearing):
    debtor = customer("100")
    t = new_tx("10.00", debtor=debtor)
    booking.hold_payment(t, booking.route_payment(debtor, None, clearing, "EUR"))
    booking.reject_held_payment(t, debtor, RejectionReason.OPERATOR_REJECTED, "no")
    with pytest.raises(AccountStateError):
        booking.reject_held_payment(t, debtor, RejectionReason.OPERATOR_REJECTED, "no")


# -- reversal --------------------------------------------------------------------------------


def test_reversal_mirrors_the_legs_and_links_the_original(clearing):
    debtor, creditor = customer("100"), customer()
    original = new_tx("30.00", debtor=debtor, creditor=creditor)
    booking.post_payment(original, booking.route_payment(debtor, creditor, clearing, "EUR"), DAY)
    reversal = new_tx("30.00", debtor=creditor, creditor=debtor, reverses=original.id)
    accounts = {str(debtor.id): debtor, str(creditor.id): creditor}
    booking.reverse_postings(original, reversal, accounts, DAY)
    assert debtor.balance == Decimal("100.00")
    assert creditor.balance == 0
    assert original.status == TransactionStatus.REVERSED
    assert original.reversed_by == reversal.id
    assert reversal.status == TransactionStatus.POSTED
    assert reversal.reverses == original.id
    assert {(leg.account_id, leg.amount) for leg in reversal.legs()} == {
        (leg.account_id, -leg.amount) for leg in original.legs()
    }


def test_reversal_refused_when_the_creditor_can_no_longer_pay(clearing):
    debtor, creditor = customer("100"), customer()
    original = new_tx("30.00", debtor=debtor, creditor=creditor)
    booking.post_payment(original, booking.route_payment(debtor, creditor, clearing, "EUR"), DAY)
    booking.post_payment(
        new_tx("20.00", debtor=creditor),
        booking.route_payment(creditor, None, clearing, "EUR"),
        DAY,
    )
    reversal = new_tx("30.00", reverses=original.id)
    for a in (debtor, creditor, original, reversal):
        a.collect_events()
    with pytest.raises(PostingRefused) as refused:
        booking.reverse_postings(
            original, reversal, {str(debtor.id): debtor, str(creditor.id): creditor}, DAY
        )
    assert refused.value.reason is RejectionReason.INSUFFICIENT_FUNDS
    assert original.status == TransactionStatus.POSTED
    for a in (debtor, creditor, original, reversal):
        assert a.collect_events() == []


def test_booking_events_carry_causation(clearing):
    debtor, creditor = customer("100"), customer()
    for a in (debtor, creditor):
        a.collect_events()
    causation = Causation(actor="user:op", correlation_id="corr-b", channel="REST")
    with caused_by(causation):
        t = new_tx("1.00", debtor=debtor, creditor=creditor)
        booking.post_payment(t, booking.route_payment(debtor, creditor, clearing, "EUR"), DAY)
    events = [*t.collect_events(), *debtor.collect_events(), *creditor.collect_events()]
    assert {type(e).__name__ for e in events} >= {"Posted", "Debited", "Credited"}
    assert {(e.actor, e.correlation_id, e.via_channel) for e in events} == {
        ("user:op", "corr-b", "REST")
    }
