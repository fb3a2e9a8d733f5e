"""The ledger's unit of work: the shared one, with typed finders and an optimistic mode.

Optimistically (the booking path), the unit trusts the working set of accounts this
process last committed, and assumes new transaction ids are free, instead of reading both
from the database. Both assumptions are checked by the store: a stale account or a
repeated idempotency key makes the commit conflict, and a refusal that stale state could
explain raises :class:`~application.unit_of_work.RetryFromFreshReads`; either way the
attempt is repeated with fresh reads.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application.errors import Conflict, NotFound
from application.unit_of_work import RetryFromFreshReads, UnitOfWork
from domain.ledger.accounts import Account, InternalAccountRef, internal_code
from domain.ledger.ids import account_id
from domain.ledger.transactions import Transaction, TransactionStatus


class WorkingSet:
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


class LedgerUnitOfWork(UnitOfWork):
    """The accounts and transactions one ledger use case loaded or created.

    ``working_set`` is the ledger's, read optimistically and updated after the unit;
    ``ended`` is called after every unit, committed or not (the screening's hook).
    """

    def __init__(
        self,
        app: Application[UUID],
        working_set: WorkingSet,
        ended: Callable[[], None],
        *,
        optimistic: bool = False,
    ) -> None:
        super().__init__(app)
        self.working_set = working_set
        self.ended = ended
        self.optimistic = optimistic
        self.from_working_set: set[UUID] = set()

    def load(self, aggregate_id: UUID) -> Any | None:
        if self.optimistic:
            cached = self.working_set.get(aggregate_id)
            if cached is not None:
                self.from_working_set.add(aggregate_id)
                return cached
        return super().load(aggregate_id)

    def find_account(self, key: str) -> Account | None:
        account = self.get(account_id(key))
        return account if isinstance(account, Account) else None

    def require_account_id(self, aggregate_id: UUID) -> Account:
        account = self.get(aggregate_id)
        if not isinstance(account, Account):
            raise NotFound(f"no account {aggregate_id}")
        return account

    def clearing(self, currency: str) -> InternalAccountRef:
        """The ``clearing:<CCY>`` account as a leg names it: never loaded nor written here, so
        payments of concurrent writers do not conflict on it (the application opens it once,
        before the first unit that books in ``currency``: see ``LedgerApplication``)."""
        return InternalAccountRef.of(internal_code("clearing", currency))

    def holding_account(self, aggregate_id: UUID, tx_id: UUID) -> Account | None:
        """The account whose hold reserves ``tx_id``'s funds: a customer account, or an
        internal account only when it holds them (a hold placed before internal accounts
        were projected); None when an internal account held nothing."""
        account = self.require_account_id(aggregate_id)
        if account.is_internal and str(tx_id) not in account.holds:
            return None
        return account

    def find_transaction(self, tx_id: UUID) -> Transaction | None:
        tx = self.get(tx_id)
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

    def verify_current(self, *accounts: Account | InternalAccountRef) -> None:
        """Raise :class:`RetryFromFreshReads` if a working-set account is behind the store.

        Used where a decision rests on an account that the commit will not
        write (so no version conflict would reveal staleness): a refusal, or
        the creditor of a held payment. One read per such account.
        """
        for account in accounts:
            if not isinstance(account, Account) or account.id not in self.from_working_set:
                continue
            stored_version = account.version - len(account.pending_events)
            try:
                current: Any = self.app.repository.get(account.id)
            except AggregateNotFoundError:
                raise RetryFromFreshReads from None
            if current.version != stored_version:
                raise RetryFromFreshReads

    def succeeded(self) -> None:
        """After a commit: the accounts now match the store; keep them for the next batch."""
        for aggregate in self.loaded.values():
            if isinstance(aggregate, Account):
                self.working_set.put(aggregate)
        self.ended()

    def failed(self) -> None:
        """After a failure: accounts may hold unsaved changes; drop them from the working set."""
        for aggregate_id in self.loaded:
            self.working_set.evict(aggregate_id)
        self.ended()
