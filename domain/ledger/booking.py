"""Booking: route a payment to two ledger accounts and move the money.

Routing rules (double entry):

* debtor and creditor both ours  -> internal transfer between them;
* only the debtor ours           -> the credit leg goes to ``clearing:<CCY>``;
* only the creditor ours         -> the debit leg comes from ``clearing:<CCY>``;
* neither ours                   -> rejected (``UNKNOWN_ACCOUNT``).

Every check runs before the first event is triggered, so a refused payment
leaves no half-applied state on any aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import PostingRefused, RejectionReason
from domain.ledger.accounts import Account
from domain.ledger.transactions import Leg, Transaction


@dataclass(frozen=True, slots=True)
class Route:
    """The account money leaves (``debit``) and the one it enters (``credit``)."""

    debit: Account
    credit: Account


def route_payment(
    debtor: Account | None,
    creditor: Account | None,
    clearing: Account,
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


def post_payment(tx: Transaction, route: Route, booking_date: str) -> None:
    """Debit, credit and record the postings; all checks first."""
    route.debit.check_can_debit(tx.amount)
    route.credit.check_can_credit(tx.amount)
    route.debit.debit(tx.id, tx.amount, booking_date)
    route.credit.credit(tx.id, tx.amount)
    tx.post(legs_for(route, tx.amount), booking_date)


def hold_payment(tx: Transaction, route: Route) -> None:
    """Reserve the funds on the debit account while the payment awaits review."""
    route.debit.check_can_debit(tx.amount)
    route.credit.check_can_credit(tx.amount)
    route.debit.place_hold(tx.id, tx.amount)
    tx.hold(route.debit.id, tx.amount)


def release_held_payment(tx: Transaction, route: Route, booking_date: str) -> None:
    """Turn a held payment into a posted one: release its hold, then debit and credit."""
    route.debit.check_can_debit(tx.amount, releasing_hold=str(tx.id))
    route.credit.check_can_credit(tx.amount)
    route.debit.release_hold(tx.id)
    route.debit.debit(tx.id, tx.amount, booking_date)
    route.credit.credit(tx.id, tx.amount)
    tx.post(legs_for(route, tx.amount), booking_date)


def reject_held_payment(
    tx: Transaction, hold_account: Account, reason: RejectionReason, detail: str
) -> None:
    """Reject a held payment and give its hold back."""
    hold_account.release_hold(tx.id)
    tx.reject(reason, detail)


def reverse_postings(
    original: Transaction, reversal: Transaction, accounts: dict[str, Account], booking_date: str
) -> None:
    """Post the mirror image of ``original``'s legs on ``reversal``; all checks first.

    ``accounts`` maps each leg's account id (as str) to the loaded account.
    """
    mirrored = [Leg(leg.account_id, leg.account_key, -leg.amount) for leg in original.legs()]
    for leg in mirrored:
        account = accounts[str(leg.account_id)]
        if leg.amount < 0:
            account.check_can_debit(-leg.amount)
        else:
            account.check_can_credit(leg.amount)
    for leg in mirrored:
        account = accounts[str(leg.account_id)]
        if leg.amount < 0:
            account.debit(reversal.id, -leg.amount, booking_date)
        else:
            account.credit(reversal.id, leg.amount)
    reversal.post(mirrored, booking_date)
    original.mark_reversed(reversal.id, reversal.reference)
