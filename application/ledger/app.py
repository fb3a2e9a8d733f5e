"""The ledger application: opening accounts and booking payments.

Each use case loads what it needs into a :class:`_UnitOfWork`, calls the
domain, and makes one ``save`` so that every aggregate it touched (the
transaction and both legs of its posting) commits in one database transaction.
Optimistic-concurrency conflicts (another writer got there first, or the same
idempotency key arrived twice) are retried from a fresh load; the retry then
sees the other writer's result.

Within one process the use cases are serialised by a lock: the event store
serialises writes to the application's table anyway, so the lock costs no
throughput and spares pointless conflicts between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from application.errors import (
    AlreadyExists,
    ConcurrencyExhausted,
    Conflict,
    IdempotencyKeyReused,
    InvalidCommand,
    NotFound,
)
from application.ledger.commands import (
    RESERVED_CHANNELS,
    REVERSAL_CHANNEL,
    OpenAccount,
    PaymentInstruction,
    SubmissionResult,
)
from application.ledger.screening import AmountLimits, RulesScreening
from application.ports import (
    BookingObserver,
    Clock,
    Screening,
    ScreeningDecision,
    ScreeningRequest,
)
from domain.causation import (
    Causation,
    caused_by,
    current_causation,
    current_recording_time,
    recording_at,
)
from domain.errors import (
    AccountStateError,
    InvalidMoney,
    InvalidTransition,
    PostingRefused,
    RejectionReason,
)
from domain.ledger import booking
from domain.ledger.accounts import Account, internal_code
from domain.ledger.ids import account_id, transaction_id
from domain.ledger.transactions import ScreeningOutcome, Transaction, TransactionStatus

MAX_ATTEMPTS = 8

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class LedgerApplication(Application[UUID]):
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
        self.working_set = _WorkingSet()

    # -- accounts --------------------------------------------------------------------

    def open_account(self, command: OpenAccount) -> Account:
        """Open a customer account; refuses an IBAN that already has one."""

        def attempt(uow: _UnitOfWork) -> Account:
            if uow.find_account(command.iban.value) is not None:
                raise AlreadyExists(f"an account with IBAN {command.iban} is already open")
            account = Account.open_customer(
                command.iban, command.holder_name, command.currency, command.overdraft_limit
            )
            uow.add(account)
            return account

        try:
            return self._run(attempt)
        except ConcurrencyExhausted:
            raise AlreadyExists(f"an account with IBAN {command.iban} is already open") from None

    def open_internal_account(self, code: str) -> Account:
        """Open an internal account such as ``suspense:EUR`` (idempotent)."""

        def attempt(uow: _UnitOfWork) -> Account:
            existing = uow.find_account(code)
            if existing is not None:
                return existing
            account = Account.open_internal(code)
            uow.add(account)
            return account

        return self._run(attempt)

    def freeze_account(self, key: str, reason: str) -> Account:
        return self._change_account(key, lambda account: account.freeze(reason))

    def unfreeze_account(self, key: str, reason: str) -> Account:
        return self._change_account(key, lambda account: account.unfreeze(reason))

    def set_overdraft_limit(self, key: str, limit: Decimal, reason: str) -> Account:
        """Change a customer account's overdraft limit (callers see to maker-checker)."""
        return self._change_account(
            key, lambda account: account.change_overdraft_limit(limit, reason)
        )

    def close_account(self, key: str, reason: str) -> Account:
        return self._change_account(key, lambda account: account.close(reason))

    def _change_account(self, key: str, change: Callable[[Account], None]) -> Account:
        def attempt(uow: _UnitOfWork) -> Account:
            account = uow.find_account(key)
            if account is None:
                raise NotFound(f"no account {key}")
            try:
                change(account)
            except AccountStateError as error:
                raise Conflict(str(error)) from None
            except InvalidMoney as error:
                raise InvalidCommand(str(error)) from None
            return account

        return self._run(attempt)

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
    ) -> list[SubmissionResult]:
        """Book many payments in one database transaction (the batching path).

        Payments are booked in order, each seeing the effect of the ones before
        it; duplicates inside the batch are answered like any other repeat.
        ``causations``, one per instruction, attributes each payment's events to
        the message that carried it (the queue batches messages from many senders).
        """
        if causations is not None and len(causations) != len(instructions):
            raise ValueError("one causation per instruction")

        def book_all(uow: _UnitOfWork) -> list[SubmissionResult]:
            if causations is None:
                return [self._observe(uow, self._book(uow, item)) for item in instructions]
            results = []
            for item, causation in zip(instructions, causations, strict=True):
                with caused_by(causation):
                    results.append(self._observe(uow, self._book(uow, item)))
            return results

        return self._run(book_all, optimistic=True)

    def _observe(self, uow: _UnitOfWork, result: SubmissionResult) -> SubmissionResult:
        """Show a screening that keeps online features what this payment booked."""
        if isinstance(self.screening, BookingObserver) and not result.duplicate:
            tx = uow.loaded.get(UUID(result.transaction_id))
            if tx is not None:
                self.screening.booked(list(tx.pending_events))
        return result

    def _unit_ended(self) -> None:
        if isinstance(self.screening, BookingObserver):
            self.screening.unit_ended()

    def _book(self, uow: _UnitOfWork, instruction: PaymentInstruction) -> SubmissionResult:
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
            return _result(existing, duplicate=True)
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
        )
        uow.add(tx)
        debtor = uow.find_account(instruction.debtor.iban.value)
        creditor = uow.find_account(instruction.creditor.iban.value)
        booking_date = self._booking_date()
        try:
            route = booking.route_payment(debtor, creditor, uow.clearing(currency), currency)
        except PostingRefused as refusal:
            tx.reject(refusal.reason, refusal.detail)
            return _result(tx)
        decision = self._screen(tx, debtor, creditor, booking_date)
        tx.record_screening(
            decision.outcome,
            decision.rule_hits,
            decision.score,
            decision.model_version,
            decision.features or None,
            decision.top_features or None,
        )
        if decision.outcome is ScreeningOutcome.DECLINE:
            tx.reject(RejectionReason.SCREENING_DECLINED, ", ".join(decision.rule_hits))
            return _result(tx)
        try:
            if decision.outcome is ScreeningOutcome.REVIEW:
                # The credit account is only checked, not written: its state must be current.
                uow.verify_current(route.credit)
                booking.hold_payment(tx, route)
            else:
                booking.post_payment(tx, route, booking_date)
        except PostingRefused as refusal:
            uow.verify_current(route.debit, route.credit)
            tx.reject(refusal.reason, refusal.detail)
        return _result(tx)

    def _screen(
        self, tx: Transaction, debtor: Account | None, creditor: Account | None, booking_date: str
    ) -> ScreeningDecision:
        return self.screening.screen(
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
            )
        )

    def release_held(self, tx_id: UUID) -> SubmissionResult:
        """Post a held payment (review passed). Refused funds reject it instead."""

        def attempt(uow: _UnitOfWork) -> SubmissionResult:
            tx = uow.require_transaction(tx_id, TransactionStatus.HELD)
            debtor = uow.find_account(tx.debtor_iban)
            creditor = uow.find_account(tx.creditor_iban)
            hold_account = uow.require_account_id(_hold_account(tx))
            try:
                route = booking.route_payment(
                    debtor, creditor, uow.clearing(tx.currency), tx.currency
                )
                booking.release_held_payment(tx, route, self._booking_date())
            except PostingRefused as refusal:
                booking.reject_held_payment(tx, hold_account, refusal.reason, refusal.detail)
            return _result(tx)

        return self._run(attempt)

    def reject_held(self, tx_id: UUID, detail: str) -> SubmissionResult:
        """Reject a held payment (review failed) and release its hold."""

        def attempt(uow: _UnitOfWork) -> SubmissionResult:
            tx = uow.require_transaction(tx_id, TransactionStatus.HELD)
            hold_account = uow.require_account_id(_hold_account(tx))
            booking.reject_held_payment(tx, hold_account, RejectionReason.OPERATOR_REJECTED, detail)
            return _result(tx)

        return self._run(attempt)

    def settle(self, tx_id: UUID, settlement_reference: str) -> SubmissionResult:
        def attempt(uow: _UnitOfWork) -> SubmissionResult:
            tx = uow.require_transaction(tx_id, TransactionStatus.POSTED)
            tx.settle(settlement_reference)
            return _result(tx)

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

        def attempt(uow: _UnitOfWork) -> SubmissionResult:
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
            accounts = {
                str(leg.account_id): uow.require_account_id(leg.account_id)
                for leg in original.legs()
            }
            try:
                booking.reverse_postings(original, reversal, accounts, self._booking_date())
            except PostingRefused as refusal:
                raise Conflict(f"cannot reverse {tx_id}: {refusal.detail}") from None
            return _result(reversal)

        return self._run(attempt)

    # -- plumbing --------------------------------------------------------------------

    def _booking_date(self) -> str:
        """The business date of the unit of work: the UTC date of its recording time."""
        return (current_recording_time() or self.clock()).date().isoformat()

    def _run(self, use_case: Callable[[_UnitOfWork], T], *, optimistic: bool = False) -> T:
        """Run ``use_case`` in a fresh unit of work and save; retry on conflicts.

        ``optimistic`` lets the unit of work trust the working set of accounts
        this process last committed, and assume new transaction ids are free,
        instead of reading both from the database. Both assumptions are checked
        by the store: a stale account or a repeated idempotency key makes the
        commit conflict, and a refusal that stale state could explain raises
        :class:`_StaleRead`; either way the attempt is repeated with fresh reads.
        """
        causation = current_causation()  # one correlation id for every attempt
        not_before: datetime | None = None
        with self._write_lock, caused_by(causation):
            for _ in range(MAX_ATTEMPTS):
                uow = _UnitOfWork(self, optimistic=optimistic)
                instant = self.clock()
                if not_before is not None and instant < not_before:
                    instant = not_before
                try:
                    with recording_at(instant):
                        result = use_case(uow)
                    if uow.latest_seen is not None and uow.latest_seen > instant:
                        # This clock is behind an event already recorded on an aggregate
                        # we touch (another process's clock, or a step back): record at
                        # that instant instead, so every stream's times never go back.
                        not_before = uow.latest_seen
                        raise _StaleRead
                    uow.commit()
                except (IntegrityError, _StaleRead):
                    uow.forget()
                    optimistic = False
                    continue
                except (InvalidTransition, AccountStateError) as error:
                    uow.forget()
                    if optimistic:
                        # e.g. a repeated key whose first booking holds funds: the
                        # optimistic guesses explain it, fresh reads will answer it.
                        optimistic = False
                        continue
                    raise Conflict(str(error)) from None
                except BaseException:
                    uow.forget()
                    raise
                uow.remember()
                return result
        raise ConcurrencyExhausted(f"gave up after {MAX_ATTEMPTS} concurrent-update conflicts")


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


def _hold_account(tx: Transaction) -> UUID:
    if tx.hold_account_id is None:
        raise Conflict(f"transaction {tx.id} holds no funds")
    return UUID(str(tx.hold_account_id))


def _result(tx: Transaction, *, duplicate: bool = False) -> SubmissionResult:
    return SubmissionResult(
        transaction_id=str(tx.id),
        status=str(tx.status),
        duplicate=duplicate,
        reason=tx.rejection_reason,
    )


class _StaleRead(Exception):
    """A decision rested on cached state that may be stale; retry with fresh reads."""


class _WorkingSet:
    """Accounts as this process last committed or loaded them, most recent last.

    Only the optimistic booking path reads it; the event store's version check
    catches any account another process changed since.
    """

    def __init__(self, maxsize: int = 50_000) -> None:
        self.maxsize = maxsize
        self._accounts: OrderedDict[UUID, Account] = OrderedDict()

    def get(self, aggregate_id: UUID) -> Account | None:
        account = self._accounts.get(aggregate_id)
        if account is not None:
            self._accounts.move_to_end(aggregate_id)
        return account

    def put(self, account: Account) -> None:
        self._accounts[account.id] = account
        self._accounts.move_to_end(account.id)
        while len(self._accounts) > self.maxsize:
            self._accounts.popitem(last=False)

    def evict(self, aggregate_id: UUID) -> None:
        self._accounts.pop(aggregate_id, None)


class _UnitOfWork:
    """The aggregates one use case loaded or created, saved together in one commit."""

    def __init__(self, app: LedgerApplication, *, optimistic: bool = False) -> None:
        self.app = app
        self.optimistic = optimistic
        self.loaded: dict[UUID, Any] = {}
        self.missing: set[UUID] = set()
        self.from_working_set: set[UUID] = set()
        self.latest_seen: datetime | None = None  # newest recorded-at among loaded aggregates

    def _get(self, aggregate_id: UUID) -> Any | None:
        if aggregate_id in self.loaded:
            return self.loaded[aggregate_id]
        if aggregate_id in self.missing:
            return None
        if self.optimistic:
            cached = self.app.working_set.get(aggregate_id)
            if cached is not None:
                self._seen(cached)
                self.from_working_set.add(aggregate_id)
                self.loaded[aggregate_id] = cached
                return cached
        try:
            aggregate: Any = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            self.missing.add(aggregate_id)
            return None
        self._seen(aggregate)
        self.loaded[aggregate_id] = aggregate
        return aggregate

    def _seen(self, aggregate: Any) -> None:
        modified = aggregate.modified_on
        if self.latest_seen is None or modified > self.latest_seen:
            self.latest_seen = modified

    def add(self, aggregate: Account | Transaction) -> None:
        self.missing.discard(aggregate.id)
        self.loaded[aggregate.id] = aggregate

    def find_account(self, key: str) -> Account | None:
        account = self._get(account_id(key))
        return account if isinstance(account, Account) else None

    def require_account_id(self, aggregate_id: UUID) -> Account:
        account = self._get(aggregate_id)
        if not isinstance(account, Account):
            raise NotFound(f"no account {aggregate_id}")
        return account

    def clearing(self, currency: str) -> Account:
        """The ``clearing:<CCY>`` account, opened on first use."""
        code = internal_code("clearing", currency)
        account = self.find_account(code)
        if account is None:
            account = Account.open_internal(code)
            self.add(account)
        return account

    def find_transaction(self, tx_id: UUID) -> Transaction | None:
        tx = self._get(tx_id)
        return tx if isinstance(tx, Transaction) else None

    def find_new_transaction_key(self, tx_id: UUID) -> Transaction | None:
        """The transaction already booked under this id, if any.

        Optimistically, only this unit of work is searched: a key booked
        earlier makes the commit conflict, and the fresh retry answers it.
        """
        if self.optimistic:
            tx = self.loaded.get(tx_id)
            return tx if isinstance(tx, Transaction) else None
        return self.find_transaction(tx_id)

    def require_transaction(self, tx_id: UUID, status: TransactionStatus) -> Transaction:
        tx = self.find_transaction(tx_id)
        if tx is None:
            raise NotFound(f"no transaction {tx_id}")
        if tx.status != status:
            raise Conflict(f"transaction {tx_id} is {tx.status}, not {status.value}")
        return tx

    def verify_current(self, *accounts: Account) -> None:
        """Raise :class:`_StaleRead` if a working-set account is behind the store.

        Used where a decision rests on an account that the commit will not
        write (so no version conflict would reveal staleness): a refusal, or
        the creditor of a held payment. One read per such account.
        """
        for account in accounts:
            if account.id not in self.from_working_set:
                continue
            stored_version = account.version - len(account.pending_events)
            try:
                current: Any = self.app.repository.get(account.id)
            except AggregateNotFoundError:
                raise _StaleRead from None
            if current.version != stored_version:
                raise _StaleRead

    def commit(self) -> None:
        pending = [agg for agg in self.loaded.values() if agg.pending_events]
        if pending:
            self.app.save(*pending)

    def remember(self) -> None:
        """After a commit: the accounts now match the store; keep them for the next batch."""
        for aggregate in self.loaded.values():
            if isinstance(aggregate, Account):
                self.app.working_set.put(aggregate)
        self.app._unit_ended()

    def forget(self) -> None:
        """After a failure: accounts may hold unsaved changes; drop them from the working set."""
        for aggregate_id in self.loaded:
            self.app.working_set.evict(aggregate_id)
        self.app._unit_ended()
