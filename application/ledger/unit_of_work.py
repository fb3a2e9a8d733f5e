"""The ledger's unit of work: the shared one, with typed finders and an optimistic mode.

Optimistically (the booking path), the unit trusts the working set of accounts this
process last committed or read, and assumes new transaction ids are free, instead of
reading both from the database. Both assumptions are checked by the store: a stale account
or a repeated idempotency key makes the commit conflict, and a refusal that stale state
could explain raises :class:`~application.unit_of_work.RetryFromFreshReads`.

A conflict costs the conflicting payments, not the batch. The working set hands out clones
(:meth:`~domain.aggregate.AttributedAggregate.clone`), so a failed attempt leaves it
pristine. After a conflict the unit asks the store, in one query
(:class:`~application.ports.StoredVersions`), how far every aggregate it read or created
has got, and writes down in the batch's :class:`RetryPlan` what was stale: those accounts
leave the working set and the transaction ids booked meanwhile are looked up for real. The
next attempt re-runs the whole batch in order, but from memory: only the stale aggregates
are read again. When the store cannot say (no such port) or finds nothing stale, the next
attempt reads everything afresh, as a non-optimistic unit does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application.errors import Conflict, NotFound
from application.ledger.ports import PendingCredit, WriteProof, WriteScope
from application.ports import BulkEvents, StoredVersions
from application.unit_of_work import ClockBehind, RetryFromFreshReads, UnitOfWork
from domain.ledger.accounts import Account, InternalAccountRef, internal_code
from domain.ledger.ids import account_id
from domain.ledger.transactions import Transaction, TransactionStatus


def _stored_version(aggregate: Any) -> int:
    """The aggregate's version in the store: as read, before its pending events (0: new)."""
    return int(aggregate.version) - len(aggregate.pending_events)


class WorkingSet:
    """Accounts as this process last committed or read them, most recent last.

    Only the optimistic booking path reads it; the event store's version check
    catches any account another process changed since. It keeps them pristine: ``get``
    hands out a clone, so what an attempt does to an account stays out of the working set
    until the attempt commits and ``put`` stores its result.
    """

    def __init__(self, maxsize: int = 50_000) -> None:
        self.maxsize = maxsize
        self._accounts: OrderedDict[UUID, Account] = OrderedDict()

    def get(self, aggregate_id: UUID) -> Account | None:
        """A clone of the account as last stored here, or None."""
        account = self._accounts.get(aggregate_id)
        if account is None:
            return None
        self._accounts.move_to_end(aggregate_id)
        return account.clone()

    def put(self, account: Account) -> None:
        """Keep ``account`` (as it is in the store: no pending events); the working set owns
        it from now on, the caller must not change it."""
        self._accounts[account.id] = account
        self._accounts.move_to_end(account.id)
        while len(self._accounts) > self.maxsize:
            self._accounts.popitem(last=False)

    def has(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self._accounts

    def evict(self, aggregate_id: UUID) -> None:
        self._accounts.pop(aggregate_id, None)


@dataclass
class RetryPlan:
    """What the failed attempts of one use case learnt for the next (see the module).

    ``fresh_reads``: the next attempt reads everything from the store (nothing explained
    the conflict). ``existing``: transaction ids booked by another writer since the batch
    assumed them free; they are looked up for real. ``missing``: aggregates found absent
    and confirmed absent by the last check, not read again.
    """

    fresh_reads: bool = False
    existing: set[UUID] = field(default_factory=set)
    missing: set[UUID] = field(default_factory=set)


class LedgerUnitOfWork(UnitOfWork):
    """The accounts and transactions one ledger use case loaded or created.

    ``working_set`` is the ledger's, read optimistically and updated after the unit;
    ``ended`` is called after every unit, committed or not (the screening's hook);
    ``plan`` is shared by the attempts of one use case (see :class:`RetryPlan`);
    ``scope``, when given, limits the accounts the unit may write (a partitioned writer):
    the commit hands the event store a :class:`~application.ledger.ports.WriteProof`.
    """

    def __init__(
        self,
        app: Application[UUID],
        working_set: WorkingSet,
        ended: Callable[[], None],
        *,
        optimistic: bool = False,
        plan: RetryPlan | None = None,
        scope: WriteScope | None = None,
    ) -> None:
        super().__init__(app)
        self.scope = scope
        self.sent_in_transit: list[PendingCredit] = []
        """The credits this unit left pending (two-step postings)."""
        self.credits_applied: set[UUID] = set()
        """Transactions whose pending credit this unit applied (or found applied)."""
        self.credited_keys: set[str] = set()
        """The accounts of those credits: their partitions are proved even when no account
        of theirs is written (a credit to suspense, a credit only cleared)."""
        self._prefetched: dict[UUID, Any] = {}
        self.working_set = working_set
        self.ended = ended
        self.optimistic = optimistic
        self.plan = plan if plan is not None else RetryPlan()
        self.from_working_set: set[UUID] = set()
        self.read_versions: dict[UUID, int] | None = None
        """Each aggregate's version as read (0: created here), taken just before the commit."""
        if optimistic:
            self.missing |= self.plan.missing

    def prefetch(self, aggregate_ids: Iterable[UUID]) -> None:
        """Read many aggregates in one query of a store that can
        (:class:`~application.ports.BulkEvents`); :meth:`load` then takes them from here
        (an id with no events: known absent, not read again). Accounts the working set has
        are not read. A store that cannot leaves them to be read one at a time."""
        recorder = getattr(self.app, "recorder", None)
        if not isinstance(recorder, BulkEvents):
            return
        wanted = {
            i
            for i in aggregate_ids
            if i not in self.loaded
            and i not in self._prefetched
            and i not in self.missing
            and not (self.optimistic and self.working_set.has(i))
        }
        if not wanted:
            return
        found = recorder.select_events_of(wanted)
        for aggregate_id in wanted:
            aggregate: Any = None
            for stored in found.get(aggregate_id, ()):
                event: Any = self.app.mapper.to_domain_event(stored)
                aggregate = event.mutate(aggregate)
            self._prefetched[aggregate_id] = aggregate

    def load(self, aggregate_id: UUID) -> Any | None:
        if aggregate_id in self._prefetched:
            aggregate = self._prefetched.pop(aggregate_id)
            if self.optimistic and isinstance(aggregate, Account):
                self.working_set.put(aggregate.clone())
            return aggregate
        if not self.optimistic:
            return super().load(aggregate_id)
        cached = self.working_set.get(aggregate_id)
        if cached is not None:
            self.from_working_set.add(aggregate_id)
            return cached
        aggregate = super().load(aggregate_id)
        if isinstance(aggregate, Account):
            # As read: a retry after a conflict elsewhere needs not read it again.
            self.working_set.put(aggregate.clone())
        return aggregate

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
        earlier makes the commit conflict, and the retry, told by the check after the
        conflict that the key exists (``plan.existing``), looks it up and answers it.
        """
        if self.optimistic and tx_id not in self.plan.existing:
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
            stored_version = _stored_version(account)
            try:
                current: Any = self.app.repository.get(account.id)
            except AggregateNotFoundError:
                raise RetryFromFreshReads from None
            if current.version != stored_version:
                raise RetryFromFreshReads

    def may_write(self, side: Account | InternalAccountRef) -> bool:
        """Whether this unit may write ``side`` (an internal account is never written)."""
        if isinstance(side, InternalAccountRef) or self.scope is None:
            return True
        return side.is_internal or self.scope.owns(side.key)

    def commit(self) -> None:
        self.read_versions = self._versions_read()
        pending = [agg for agg in self.loaded.values() if agg.pending_events]
        if self.scope is None or not (pending or self.credits_applied):
            super().commit()
            return
        written = frozenset(
            agg.key for agg in pending if isinstance(agg, Account) and not agg.is_internal
        ) | frozenset(self.credited_keys)
        proof = WriteProof(
            self.scope, written, tuple(self.sent_in_transit), frozenset(self.credits_applied)
        )
        self.app.save(*pending, write_proof=proof)

    def _versions_read(self) -> dict[UUID, int]:
        """Each loaded aggregate's version as read from the store (0: created in this unit)."""
        return {
            aggregate_id: _stored_version(aggregate)
            for aggregate_id, aggregate in self.loaded.items()
        }

    def conflicted(self, error: Exception) -> None:
        """Find out, in one query, which aggregates this optimistic attempt read stale or
        created after another writer did, and write the next attempt's :class:`RetryPlan`."""
        if not self.optimistic or isinstance(error, ClockBehind):
            return  # a clock behind: the reads were not found wanting, the retry runs later
        recorder = getattr(self.app, "recorder", None)
        if not isinstance(recorder, StoredVersions):
            self.plan.fresh_reads = True
            return
        expected = self.read_versions if self.read_versions is not None else self._versions_read()
        expected.update(dict.fromkeys(self.missing, 0))
        current = recorder.current_versions(expected.keys())
        stale = {i for i, version in expected.items() if current.get(i, 0) != version}
        if not stale:
            self.plan.fresh_reads = True  # nothing explains the conflict: read all afresh
            return
        for aggregate_id in stale:
            self.working_set.evict(aggregate_id)
            if isinstance(self.loaded.get(aggregate_id), Transaction):
                self.plan.existing.add(aggregate_id)
        self.plan.missing = self.missing - stale

    def succeeded(self) -> None:
        """After a commit: the accounts now match the store; keep them for the next batch."""
        for aggregate in self.loaded.values():
            if isinstance(aggregate, Account):
                self.working_set.put(aggregate)
        self.ended()

    def failed(self) -> None:
        """After a failure. An optimistic unit's accounts are clones, the working set is
        pristine (stale ones left it in :meth:`conflicted`); a non-optimistic unit's accounts
        may be newer than the working set's, so they leave it."""
        if not self.optimistic:
            for aggregate_id in self.loaded:
                self.working_set.evict(aggregate_id)
        self.ended()
