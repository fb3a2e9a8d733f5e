"""Booking one payment inside a ledger unit of work: the idempotency check, routing,
screening and posting (or holding, or rejecting) of
:meth:`~application.ledger.app.LedgerApplication.submit_payments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

from application.errors import Conflict, IdempotencyKeyReused, InvalidCommand, OutsideScope
from application.ledger.commands import RESERVED_CHANNELS, PaymentInstruction, SubmissionResult
from application.ledger.ports import PendingCredit, Screening
from application.ledger.unit_of_work import LedgerUnitOfWork
from application.ports import ScreeningDecision, ScreeningRequest
from domain.errors import PostingRefused, RejectionReason
from domain.ledger import booking
from domain.ledger.accounts import Account
from domain.ledger.ids import account_id, transaction_id
from domain.ledger.transactions import ScreeningOutcome, Transaction


def book_payment(
    uow: LedgerUnitOfWork,
    instruction: PaymentInstruction,
    screening: Screening,
    booking_date: str,
) -> SubmissionResult:
    """Book ``instruction`` in ``uow``; a repeat of its idempotency key returns the first
    result, the same key with another payment raises :class:`IdempotencyKeyReused`."""
    if instruction.channel.upper() in RESERVED_CHANNELS:
        raise InvalidCommand(f"channel {instruction.channel} is reserved for the ledger")
    tx_id = transaction_id(instruction.channel, instruction.external_id)
    existing = uow.find_new_transaction_key(tx_id)
    if existing is not None:
        differences = _differences(existing, instruction)
        if differences:
            raise IdempotencyKeyReused(
                f"{instruction.channel}/{instruction.external_id} was booked as transaction "
                f"{existing.id} with another {', '.join(differences)}"
            )
        return result_of(existing, duplicate=True)
    currency = instruction.amount.currency
    tx = Transaction(
        channel=instruction.channel,
        external_id=instruction.external_id,
        amount=instruction.amount.amount,
        currency=currency,
        debtor_iban=instruction.debtor.iban.value,
        debtor_name=instruction.debtor.name,
        creditor_iban=instruction.creditor.iban.value,
        creditor_name=instruction.creditor.name,
        reference=instruction.reference,
        requested_at=instruction.requested_at,
        metadata=dict(instruction.metadata),
        reverses=None,
        vop_check_id=instruction.vop_check_id,
    )
    uow.add(tx)
    debtor = uow.find_account(instruction.debtor.iban.value)
    creditor = uow.find_account(instruction.creditor.iban.value)
    try:
        route = booking.route_payment(debtor, creditor, uow.clearing(currency), currency)
    except PostingRefused as refusal:
        tx.reject(refusal.reason, refusal.detail)
        return result_of(tx)
    if not uow.may_write(route.debit):
        raise OutsideScope(f"account {route.debit.key} is written by another writer")
    decision = _screen(screening, tx, debtor, creditor, booking_date)
    tx.record_screening(
        decision.outcome,
        decision.rule_hits,
        decision.score,
        decision.model_version,
        decision.features or None,
        decision.top_features or None,
        decision.challenger,
    )
    if decision.outcome is ScreeningOutcome.DECLINE:
        tx.reject(RejectionReason.SCREENING_DECLINED, ", ".join(decision.rule_hits))
        return result_of(tx)
    try:
        if decision.outcome is ScreeningOutcome.REVIEW:
            # The credit account is only checked, not written: its state must be current.
            uow.verify_current(route.credit)
            booking.hold_payment(tx, route)
        elif uow.may_write(route.credit):
            booking.post_payment(tx, route, booking_date)
        else:  # the creditor is another writer's: it applies the credit from transit
            booking.post_payment_in_transit(tx, route, booking_date)
            uow.sent_in_transit.append(PendingCredit(tx.id, route.credit.key, currency))
    except PostingRefused as refusal:
        uow.verify_current(route.debit, route.credit)
        tx.reject(refusal.reason, refusal.detail)
    return result_of(tx)


def apply_pending_credits(
    uow: LedgerUnitOfWork, pending: Sequence[PendingCredit], booking_date: str
) -> int:
    """Apply pending credits in ``uow`` (their transactions and accounts read in one query
    where the store can); how many were applied, not only cleared."""
    if not pending:
        return 0
    uow.prefetch(
        [credit.transaction_id for credit in pending]
        + [account_id(credit.account_key) for credit in pending]
    )
    return sum(apply_pending_credit(uow, credit, booking_date) for credit in pending)


def apply_pending_credit(uow: LedgerUnitOfWork, credit: PendingCredit, booking_date: str) -> bool:
    """Apply one pending credit in ``uow`` (False: applied before, only cleared)."""
    tx = uow.find_transaction(credit.transaction_id)
    uow.credits_applied.add(credit.transaction_id)
    uow.credited_keys.add(credit.account_key)
    if tx is None or tx.credit_pending is None:
        return False
    creditor = uow.find_account(tx.credit_pending)
    if creditor is not None and not uow.may_write(creditor):
        raise OutsideScope(f"account {creditor.key} is written by another writer")
    booking.apply_pending_credit(tx, creditor, booking_date)
    return True


def _screen(
    screening: Screening,
    tx: Transaction,
    debtor: Account | None,
    creditor: Account | None,
    booking_date: str,
) -> ScreeningDecision:
    return screening.screen(
        ScreeningRequest(
            transaction_id=str(tx.id),
            channel=tx.channel,
            amount=tx.amount,
            currency=tx.currency,
            debtor_iban=tx.debtor_iban,
            creditor_iban=tx.creditor_iban,
            debtor_is_ours=debtor is not None,
            creditor_is_ours=creditor is not None,
            debtor_outflow_today=(
                debtor.outflow_on(booking_date) if debtor is not None else Decimal(0)
            ),
            requested_at=tx.requested_at,
            metadata=dict(tx.metadata),
            received_at=tx.created_on,
            vop_check_id=tx.vop_check_id,
        )
    )


def _differences(tx: Transaction, instruction: PaymentInstruction) -> list[str]:
    """What makes ``instruction`` another payment than ``tx`` under the same key."""
    pairs = {
        "amount": (tx.amount, instruction.amount.amount),
        "currency": (tx.currency, instruction.amount.currency),
        "debtor": (tx.debtor_iban, instruction.debtor.iban.value),
        "creditor": (tx.creditor_iban, instruction.creditor.iban.value),
        "reference": (tx.reference, instruction.reference),
    }
    return [name for name, (booked, given) in pairs.items() if booked != given]


def hold_account_of(tx: Transaction) -> UUID:
    """The account holding a held payment's funds (Conflict when it holds none)."""
    if tx.hold_account_id is None:
        raise Conflict(f"transaction {tx.id} holds no funds")
    return UUID(str(tx.hold_account_id))


def result_of(tx: Transaction, *, duplicate: bool = False) -> SubmissionResult:
    """What a channel is told about ``tx``."""
    return SubmissionResult(
        transaction_id=str(tx.id),
        status=str(tx.status),
        duplicate=duplicate,
        reason=tx.rejection_reason,
    )
