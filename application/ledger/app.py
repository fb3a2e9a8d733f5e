"""The ledger application: opening accounts and booking payments.

Each use case loads what it needs into a
:class:`~application.ledger.unit_of_work.LedgerUnitOfWork`, calls the domain, and makes one
``save`` so that every aggregate it touched (the transaction and the customer accounts of its
posting) commits in one database transaction. An internal account (``clearing:<CCY>``) is
only named in the transaction's legs, never written by a payment, so it is no hot spot that
every payment of every writer version-checks; its balance is projected from the legs.
Optimistic-concurrency conflicts (another writer got there first, or the same idempotency
key arrived twice) are retried by :func:`application.unit_of_work.run`.

Within one process the use cases are serialised by a lock: the event store
serialises writes to the application's table anyway, so the lock costs no
throughput and spares pointless conflicts between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.utils import EnvType

from application import unit_of_work
from application.errors import (
    AlreadyExists,
    ConcurrencyExhausted,
    Conflict,
    NotFound,
)
from application.ledger.account_changes import AccountChanges
from application.ledger.commands import OpenAccount, PaymentInstruction, SubmissionResult
from application.ledger.known_accounts import KnownAccounts
from application.ledger.payments import (
    apply_pending_credits,
    book_payment,
    hold_account_of,
    result_of,
)
from application.ledger.ports import BookingObserver, PendingCredit, Screening, WriteScope
from application.ledger.screening import AmountLimits, RulesScreening
from application.ledger.unit_of_work import LedgerUnitOfWork, RetryPlan, WorkingSet
from application.unit_of_work import Clock, RetryFromFreshReads, utc_now
from domain.causation import Causation, caused_by, current_recording_time
from domain.errors import (
    AccountStateError,
    InvalidTransition,
    PostingRefused,
    RejectionReason,
)
from domain.ledger import booking
from domain.ledger.accounts import Account, balance_is_projected, internal_code
from domain.ledger.ids import account_id
from domain.ledger.transactions import (
    REVERSAL_CHANNEL,
    ScreeningOutcome,
    Transaction,
    TransactionStatus,
)

T = TypeVar("T")


class LedgerApplication(AccountChanges, Application[UUID]):
    """Accounts, transactions, postings and holds of the ledger context."""

    name = "ledger"
    snapshotting_intervals = {Account: 500}  # noqa: RUF012 - eventsourcing's class attribute
    env = {  # noqa: RUF012
        "AGGREGATE_CACHE_MAXSIZE": "20000",
    }

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        screening: Screening | None = None,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(env)
        self.screening: Screening = screening or RulesScreening(AmountLimits())
        self.clock = clock
        self._write_lock = threading.RLock()
        self.working_set = WorkingSet()
        self._internal_open: set[str] = set()
        self._known_accounts = KnownAccounts(self)

    # -- accounts --------------------------------------------------------------------

    def open_account(self, command: OpenAccount) -> Account:
        """Open a customer account; refuses an IBAN that already has one."""

        def attempt(uow: LedgerUnitOfWork) -> Account:
            if uow.find_account(command.iban.value) is not None:
                raise AlreadyExists(f"an account with IBAN {command.iban} is already open")
            account = Account.open_customer(
                command.iban,
                command.holder_name,
                command.currency,
                command.overdraft_limit,
                command.holder,
            )
            uow.add(account)
            return account

        try:
            return self._run(attempt)
        except ConcurrencyExhausted:
            raise AlreadyExists(f"an account with IBAN {command.iban} is already open") from None

    def open_internal_account(self, code: str) -> Account:
        """Open an internal account such as ``suspense:EUR`` (idempotent)."""

        def attempt(uow: LedgerUnitOfWork) -> Account:
            existing = uow.find_account(code)
            if existing is not None:
                return existing
            account = Account.open_internal(code)
            uow.add(account)
            return account

        return self._run(attempt)

    def ensure_internal_accounts(self, codes: Iterable[str]) -> None:
        """Open the internal accounts ``codes`` that this process has not seen open yet.

        A payment names an internal account in its legs without loading it; it is opened
        here once, in its own unit before the first that books against it, so its ``Opened``
        event precedes every leg naming it. Internal accounts are never closed.
        """
        for code in sorted(set(codes) - self._internal_open):
            self.open_internal_account(code)
            self._internal_open.add(code)

    def existing_accounts(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have an account here (partitioned ingestion routes by it)."""
        return self._known_accounts.existing(keys)

    def get_account(self, key: str) -> Account:
        """The current account (write side); queries should use the read models."""
        try:
            account: Account = self.repository.get(account_id(key))
        except AggregateNotFoundError:
            raise NotFound(f"no account {key}") from None
        return account

    def get_transaction(self, tx_id: UUID) -> Transaction:
        try:
            tx: Transaction = self.repository.get(tx_id)
        except AggregateNotFoundError:
            raise NotFound(f"no transaction {tx_id}") from None
        return tx

    # -- payments --------------------------------------------------------------------

    def submit_payment(self, instruction: PaymentInstruction) -> SubmissionResult:
        """Book one payment; a repeat of its idempotency key returns the first result."""
        return self.submit_payments([instruction])[0]

    def submit_payments(
        self,
        instructions: Sequence[PaymentInstruction],
        causations: Sequence[Causation] | None = None,
        *,
        scope: WriteScope | None = None,
        credits: Sequence[PendingCredit] = (),
    ) -> list[SubmissionResult]:
        """Book many payments in one database transaction (the batching path).

        Payments are booked in order, each seeing the effect of the ones before it; duplicates
        inside the batch are answered like any other repeat. ``causations``, one per
        instruction, attributes each payment's events to the message that carried it.
        ``scope``: the accounts a partitioned writer may write; a creditor outside it gets
        a two-step posting (:meth:`apply_pending_credits`), a debtor outside it raises
        :class:`~application.errors.OutsideScope` (nothing booked). ``credits``: pending
        credits of the scope, applied first in the same transaction (one commit for both).
        """
        if causations is not None and len(causations) != len(instructions):
            raise ValueError("one causation per instruction")
        if credits and scope is None:
            raise ValueError("pending credits are applied under a scope")
        currencies = {item.amount.currency for item in instructions}
        kinds = ("clearing",) if scope is None else ("clearing", "in-transit", "suspense")
        self.ensure_internal_accounts(
            internal_code(kind, ccy)
            for ccy in currencies | {credit.currency for credit in credits}
            for kind in kinds
        )

        def book_all(uow: LedgerUnitOfWork) -> list[SubmissionResult]:
            uow.prefetch(  # what the working set lacks, in one read (PostgreSQL)
                account_id(key)
                for item in instructions
                for key in (item.debtor.iban.value, item.creditor.iban.value)
            )
            apply_pending_credits(uow, credits, self._booking_date())
            if causations is None:
                return [self._observe(uow, self._book(uow, item)) for item in instructions]
            results = []
            for item, causation in zip(instructions, causations, strict=True):
                with caused_by(causation):
                    results.append(self._observe(uow, self._book(uow, item)))
            return results

        return self._run(book_all, optimistic=True, scope=scope)

    def apply_pending_credits(self, pending: Sequence[PendingCredit], scope: WriteScope) -> int:
        """The second step of two-step postings: credit each pending credit's account out of
        ``in-transit:<CCY>`` (``suspense:<CCY>`` when it can no longer take it), all in one
        database transaction, which also clears them from the pending list (see
        :class:`~application.ledger.ports.WriteProof`). A credit already applied is only
        cleared. Returns how many credits this call applied."""
        currencies = {credit.currency for credit in pending}
        self.ensure_internal_accounts(
            internal_code(kind, ccy) for ccy in currencies for kind in ("in-transit", "suspense")
        )

        def apply_all(uow: LedgerUnitOfWork) -> int:
            return apply_pending_credits(uow, pending, self._booking_date())

        return self._run(apply_all, optimistic=True, scope=scope)

    def _observe(self, uow: LedgerUnitOfWork, result: SubmissionResult) -> SubmissionResult:
        """Show a screening that keeps online features what this payment booked."""
        if isinstance(self.screening, BookingObserver) and not result.duplicate:
            tx = uow.loaded.get(UUID(result.transaction_id))
            if tx is not None:
                self.screening.booked(list(tx.pending_events))
        return result

    def unit_ended(self) -> None:
        """After every unit of work (the screening may drop what it observed)."""
        if isinstance(self.screening, BookingObserver):
            self.screening.unit_ended()

    def release_held(self, tx_id: UUID) -> SubmissionResult:
        """Post a held payment (review passed). Refused funds reject it instead."""

        def attempt(uow: LedgerUnitOfWork) -> SubmissionResult:
            tx = uow.require_transaction(tx_id, TransactionStatus.HELD)
            debtor = uow.find_account(tx.debtor_iban)
            creditor = uow.find_account(tx.creditor_iban)
            hold_account = uow.holding_account(hold_account_of(tx), tx.id)
            try:
                route = booking.route_payment(
                    debtor, creditor, uow.clearing(tx.currency), tx.currency
                )
                legacy_hold = None if hold_account is route.debit else hold_account
                booking.release_held_payment(tx, route, self._booking_date(), legacy_hold)
            except PostingRefused as refusal:
                booking.reject_held_payment(tx, hold_account, refusal.reason, refusal.detail)
            return result_of(tx)

        return self._run(attempt)

    def reject_held(self, tx_id: UUID, detail: str) -> SubmissionResult:
        """Reject a held payment (review failed) and release its hold."""

        def attempt(uow: LedgerUnitOfWork) -> SubmissionResult:
            tx = uow.require_transaction(tx_id, TransactionStatus.HELD)
            hold_account = uow.holding_account(hold_account_of(tx), tx.id)
            booking.reject_held_payment(tx, hold_account, RejectionReason.OPERATOR_REJECTED, detail)
            return result_of(tx)

        return self._run(attempt)

    def settle(self, tx_id: UUID, settlement_reference: str) -> SubmissionResult:
        def attempt(uow: LedgerUnitOfWork) -> SubmissionResult:
            tx = uow.require_transaction(tx_id, TransactionStatus.POSTED)
            tx.settle(settlement_reference)
            return result_of(tx)

        return self._run(attempt)

    def reverse(self, tx_id: UUID, reason: str) -> SubmissionResult:
        """Reverse a posted transaction by a new, linked transaction with mirrored legs.

        The reversal's id derives from the original's, so a transaction can be
        reversed once only; a reversal itself cannot be reversed (Conflict naming it), since
        a reversal is exempt from screening. Returns the reversal's result.
        """
        reason = reason.strip()
        if not reason:
            raise Conflict("a reversal needs a reason")

        def attempt(uow: LedgerUnitOfWork) -> SubmissionResult:
            original = uow.require_transaction(tx_id, TransactionStatus.POSTED)
            original.check_reversible()  # NotReversible -> Conflict: no reversal of a reversal
            reversal = Transaction(
                channel=REVERSAL_CHANNEL,
                external_id=str(original.id),
                amount=original.amount,
                currency=original.currency,
                debtor_iban=original.creditor_iban,
                debtor_name=original.creditor_name,
                creditor_iban=original.debtor_iban,
                creditor_name=original.debtor_name,
                reference=reason,
                requested_at=None,
                metadata={"reverses": str(original.id)},
                reverses=original.id,
            )
            if uow.find_transaction(reversal.id) is not None:
                raise Conflict(f"transaction {tx_id} was already reversed")
            uow.add(reversal)
            reversal.record_screening(ScreeningOutcome.APPROVE, ["reversal-exempt"], None, None)
            accounts = {  # the customer legs; internal ones are only mirrored in the events
                str(leg.account_id): uow.require_account_id(leg.account_id)
                for leg in original.legs()
                if not balance_is_projected(leg.account_key)
            }
            try:
                booking.reverse_postings(original, reversal, accounts, self._booking_date())
            except PostingRefused as refusal:
                raise Conflict(f"cannot reverse {tx_id}: {refusal.detail}") from None
            return result_of(reversal)

        return self._run(attempt)

    # -- plumbing --------------------------------------------------------------------

    def _booking_date(self) -> str:
        """The business date of the unit of work: the UTC date of its recording time."""
        return (current_recording_time() or self.clock()).date().isoformat()

    def _book(self, uow: LedgerUnitOfWork, instruction: PaymentInstruction) -> SubmissionResult:
        return book_payment(uow, instruction, self.screening, self._booking_date())

    def _run(
        self,
        use_case: Callable[[LedgerUnitOfWork], T],
        *,
        optimistic: bool = False,
        scope: WriteScope | None = None,
    ) -> T:
        """Run ``use_case`` in a fresh unit of work and save; retry on conflicts.

        ``optimistic``: trust the working set and assume new transaction ids are free (see
        :mod:`application.ledger.unit_of_work`); a retry reads only what was stale (one
        :class:`RetryPlan`). A domain refusal the optimistic guesses could explain is
        retried the same way, any other is a :class:`~application.errors.Conflict`.
        ``scope``: a partitioned writer's (:class:`~application.ledger.ports.WriteScope`).
        """
        plan = RetryPlan()

        def new_unit(_attempt: int) -> LedgerUnitOfWork:
            return LedgerUnitOfWork(
                self,
                self.working_set,
                self.unit_ended,
                optimistic=optimistic and not plan.fresh_reads,
                plan=plan,
                scope=scope,
            )

        def attempt(uow: LedgerUnitOfWork, _now: datetime) -> T:
            try:
                return use_case(uow)
            except (InvalidTransition, AccountStateError) as error:
                if uow.optimistic:
                    # e.g. a repeated key whose first booking holds funds: the
                    # optimistic guesses explain it, fresh reads will answer it.
                    raise RetryFromFreshReads from None
                raise Conflict(str(error)) from None

        return unit_of_work.run(
            new_unit, attempt, lock=self._write_lock, clock=self.clock, monotonic=True
        )
