"""Booking: route a payment to two ledger accounts and move the money.

Routing rules (double entry):

* debtor and creditor both ours  -> internal transfer between them;
* only the debtor ours           -> the credit leg goes to ``clearing:<CCY>``;
* only the creditor ours         -> the debit leg comes from ``clearing:<CCY>``;
* neither ours                   -> rejected (``UNKNOWN_ACCOUNT``).

An internal side (``clearing:<CCY>``) is an :class:`InternalAccountRef`, not a loaded
aggregate: it needs no balance check, so the payment records its leg in the
transaction's ``Posted`` event only and never writes (nor version-checks) the internal
account; its balance is projected from those legs. Customer sides are checked and
written as before.

Every check runs before the first event is triggered, so a refused payment
leaves no half-applied state on any aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import PostingRefused, RejectionReason
from domain.ledger.accounts import (
    Account,
    InternalAccountRef,
    balance_is_projected,
    internal_code,
)
from domain.ledger.transactions import Leg, Transaction

Side = Account | InternalAccountRef
"""One side of a route: a customer account (checked and written) or an internal one (named)."""


@dataclass(frozen=True, slots=True)
class Route:
    """The account money leaves (``debit``) and the one it enters (``credit``)."""

    debit: Side
    credit: Side


def route_payment(
    debtor: Account | None,
    creditor: Account | None,
    clearing: InternalAccountRef,
    currency: str,
) -> Route:
    """Choose the two accounts of a payment, or raise :class:`PostingRefused`."""
    if debtor is None and creditor is None:
        raise PostingRefused(
            RejectionReason.UNKNOWN_ACCOUNT, "neither debtor nor creditor holds an account here"
        )
    if debtor is not None and creditor is not None and debtor.id == creditor.id:
        raise PostingRefused(RejectionReason.SAME_ACCOUNT, "debtor and creditor are one account")
    for account in (debtor, creditor):
        if account is not None and account.currency != currency:
            raise PostingRefused(
                RejectionReason.CURRENCY_MISMATCH,
                f"account {account.key} is in {account.currency}, payment in {currency}",
            )
    if clearing.currency != currency:
        raise PostingRefused(RejectionReason.CURRENCY_MISMATCH, "clearing account currency")
    return Route(debit=debtor or clearing, credit=creditor or clearing)


def legs_for(route: Route, amount: Decimal) -> list[Leg]:
    return [
        Leg(route.debit.id, route.debit.key, -amount),
        Leg(route.credit.id, route.credit.key, amount),
    ]


def _check(route: Route, amount: Decimal, releasing_hold: str | None = None) -> None:
    """The checks of the customer sides (an internal side has none)."""
    if isinstance(route.debit, Account):
        route.debit.check_can_debit(amount, releasing_hold=releasing_hold)
    if isinstance(route.credit, Account):
        route.credit.check_can_credit(amount)


def _move(tx: Transaction, route: Route, booking_date: str) -> None:
    """Debit and credit the customer sides and record both legs on ``tx``."""
    if isinstance(route.debit, Account):
        route.debit.debit(tx.id, tx.amount, booking_date)
    if isinstance(route.credit, Account):
        route.credit.credit(tx.id, tx.amount)
    tx.post(legs_for(route, tx.amount), booking_date)


def post_payment(tx: Transaction, route: Route, booking_date: str) -> None:
    """Debit, credit and record the postings; all checks first."""
    _check(route, tx.amount)
    _move(tx, route, booking_date)


def post_payment_in_transit(tx: Transaction, route: Route, booking_date: str) -> None:
    """The first step of a two-step posting, for a creditor written by another writer: all
    checks (the creditor's only read), then the debit side to ``in-transit:<CCY>``, the
    credit left pending (:func:`apply_pending_credit` is the second step)."""
    if not isinstance(route.credit, Account):
        raise ValueError("only a customer account's credit is ever left pending")
    _check(route, tx.amount)
    transit = Route(route.debit, InternalAccountRef.of(internal_code("in-transit", tx.currency)))
    if isinstance(route.debit, Account):
        route.debit.debit(tx.id, tx.amount, booking_date)
    tx.post(legs_for(transit, tx.amount), booking_date, credit_pending=route.credit.key)


def apply_pending_credit(tx: Transaction, creditor: Account | None, booking_date: str) -> None:
    """The second step: move the amount out of transit to the creditor; when the creditor
    can no longer take it (closed, or gone), to ``suspense:<CCY>``, with the reason, for an
    operator to repair: the debit is never undone behind the debtor's back."""
    transit = InternalAccountRef.of(internal_code("in-transit", tx.currency))
    reason: str | None = None
    if creditor is None:
        reason = f"account {tx.credit_pending} does not exist"
    else:
        try:
            creditor.check_can_credit(tx.amount)
        except PostingRefused as refusal:
            reason = refusal.detail
    if creditor is not None and reason is None:
        creditor.credit(tx.id, tx.amount)
        tx.apply_credit(legs_for(Route(transit, creditor), tx.amount), booking_date, None)
        return
    suspense = InternalAccountRef.of(internal_code("suspense", tx.currency))
    tx.apply_credit(legs_for(Route(transit, suspense), tx.amount), booking_date, reason)


def hold_payment(tx: Transaction, route: Route) -> None:
    """Reserve the funds on the debit account while the payment awaits review (an
    internal debit side reserves nothing: it needs no funds)."""
    _check(route, tx.amount)
    if isinstance(route.debit, Account):
        route.debit.place_hold(tx.id, tx.amount)
    tx.hold(route.debit.id, tx.amount)


def release_held_payment(
    tx: Transaction, route: Route, booking_date: str, legacy_hold: Account | None = None
) -> None:
    """Turn a held payment into a posted one: release its hold, then debit and credit.

    ``legacy_hold`` is an internal account's aggregate that holds the funds: a hold placed
    before internal accounts were projected, released here so that it does not linger.
    """
    _check(route, tx.amount, releasing_hold=str(tx.id))
    if isinstance(route.debit, Account):
        route.debit.release_hold(tx.id)
    elif legacy_hold is not None:
        legacy_hold.release_hold(tx.id)
    _move(tx, route, booking_date)


def reject_held_payment(
    tx: Transaction, hold_account: Account | None, reason: RejectionReason, detail: str
) -> None:
    """Reject a held payment and give its hold back (None: an internal account held
    nothing)."""
    if hold_account is not None:
        hold_account.release_hold(tx.id)
    tx.reject(reason, detail)


def reverse_postings(
    original: Transaction, reversal: Transaction, accounts: dict[str, Account], booking_date: str
) -> None:
    """Post the mirror image of ``original``'s legs on ``reversal``; all checks first.

    ``accounts`` maps the account id (as str) of each customer leg to the loaded account;
    internal legs are only mirrored in the reversal's ``Posted`` event.
    """
    mirrored = [Leg(leg.account_id, leg.account_key, -leg.amount) for leg in original.legs()]
    written = [leg for leg in mirrored if not balance_is_projected(leg.account_key)]
    for leg in written:
        account = accounts[str(leg.account_id)]
        if leg.amount < 0:
            account.check_can_debit(-leg.amount)
        else:
            account.check_can_credit(leg.amount)
    for leg in written:
        account = accounts[str(leg.account_id)]
        if leg.amount < 0:
            account.debit(reversal.id, -leg.amount, booking_date)
        else:
            account.credit(reversal.id, leg.amount)
    reversal.post(mirrored, booking_date)
    original.mark_reversed(reversal.id, reversal.reference)
