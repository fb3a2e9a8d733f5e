"""Analyst work on held payments: fraud cases, decided against the ledger through ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import Conflict
from application.fraud.app import FraudApplication
from application.fraud.ports import HeldPayments, PaymentOutcome, ReversalPolicy
from domain.errors import DomainError
from domain.fraud.cases import CaseStatus, FraudCase, Verdict, case_id
from domain.ledger.transactions import ScreeningOutcome, Transaction, TransactionStatus


@dataclass(frozen=True, slots=True)
class ReviewedPayment:
    """A :class:`~application.fraud.ports.PaymentOutcome` the cases answer themselves
    (the ledger did not act, or acted on another transaction: a reversal)."""

    transaction_id: str
    status: str
    duplicate: bool = False
    reason: str | None = None


class FraudCases:
    """Analyst work on held payments: assign a case, decide it, and act on the ledger.

    A confirmed fraud rejects the held payment (or reverses it, if it was posted in the
    meantime); a false positive releases and posts it. Reversing a posted payment follows
    the same rule as any direct reversal (the ledger's
    :meth:`~application.fraud.ports.ReversalPolicy.check_direct_reversal`): above the
    approval threshold, or in a currency without one, the decision is refused with
    :class:`~application.errors.ApprovalRequired` and nothing changes; the reversal is
    then requested and approved by a second person, and deciding the case again records
    the verdict without reversing twice. The ledger acts first and the
    decision is recorded after it, so a case never says DECIDED while the ledger did not
    act; both are events with the analyst as actor. If recording the decision fails after
    the ledger acted, deciding again finds the payment rejected or reversed and records the
    decision without acting twice.
    """

    def __init__(
        self, fraud: FraudApplication, ledger: HeldPayments, reversals: ReversalPolicy
    ) -> None:
        self.fraud = fraud
        self.ledger = ledger
        self.reversals = reversals

    def _case(self, transaction_id: UUID) -> FraudCase:
        try:
            case: FraudCase = self.fraud.repository.get(case_id(transaction_id))
            return case
        except AggregateNotFoundError:
            pass
        tx = self.ledger.get_transaction(transaction_id)  # NotFound when unknown
        if tx.screening_outcome != ScreeningOutcome.REVIEW.value:
            raise Conflict(f"transaction {transaction_id} was not held for review")
        return FraudCase(str(transaction_id))

    def assign(self, transaction_id: UUID, analyst: str) -> FraudCase:
        with self.fraud._lock:
            case = self._case(transaction_id)
            try:
                case.assign(analyst)
            except DomainError as error:
                raise Conflict(str(error)) from None
            self._save(case)
            return case

    def decide(
        self,
        transaction_id: UUID,
        verdict: Verdict,
        note: str,
        *,
        authorize_reversal: Callable[[], object] | None = None,
    ) -> tuple[FraudCase, PaymentOutcome]:
        """Act on the ledger, then record the decision. ``authorize_reversal`` is called
        before a confirmed fraud reverses a posted payment (it raises to refuse); above the
        approval threshold such a reversal raises :class:`ApprovalRequired` instead.
        Returns the case and the reviewed transaction's status after the decision."""
        with self.fraud._lock:
            case = self._case(transaction_id)
            if case.status is CaseStatus.DECIDED:
                raise Conflict(f"case of {transaction_id} is already decided ({case.verdict})")
            tx = self.ledger.get_transaction(transaction_id)
            result = self._act(tx, verdict, note, authorize_reversal)
            try:
                case.decide(verdict, note)
            except DomainError as error:
                raise Conflict(str(error)) from None
            self._save(case)
        return case, result

    def _save(self, case: FraudCase) -> None:
        try:
            self.fraud.save(case)
        except IntegrityError:
            raise Conflict(
                f"case of {case.transaction_id} was changed concurrently; look at it again"
            ) from None

    def _act(
        self,
        tx: Transaction,
        verdict: Verdict,
        note: str,
        authorize_reversal: Callable[[], object] | None,
    ) -> PaymentOutcome:
        transaction_id = tx.id
        status = tx.status
        detail = f"fraud case: {verdict.value}" + (f" ({note})" if note else "")
        if status in (TransactionStatus.REJECTED, TransactionStatus.REVERSED):
            # Nothing can move any more (a decision whose recording failed after the ledger
            # acted, or a payment refused meanwhile): the decision is recorded as it stands.
            return ReviewedPayment(str(transaction_id), str(status), False, tx.rejection_reason)
        if status not in (TransactionStatus.HELD, TransactionStatus.POSTED):
            raise Conflict(f"transaction {transaction_id} is {status}; nothing to decide")
        if verdict is Verdict.CONFIRMED_FRAUD:
            if status == TransactionStatus.HELD:
                return self.ledger.reject_held(transaction_id, detail)
            if authorize_reversal is not None:
                authorize_reversal()
            # The maker-checker rule of every reversal: no silent reversal above it.
            self.reversals.check_direct_reversal(tx.amount, tx.currency)
            self.ledger.reverse(transaction_id, detail)
            # The answer is about the reviewed payment (now REVERSED), not the reversal.
            return ReviewedPayment(str(transaction_id), str(TransactionStatus.REVERSED))
        if status == TransactionStatus.HELD:
            return self.ledger.release_held(transaction_id)
        return ReviewedPayment(str(transaction_id), str(status), False, None)
