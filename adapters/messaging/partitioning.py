"""Partitioned ingestion: behind the one inbound queue, one writer per partition.

Channels keep sending to ``LEDGER_STOMP_QUEUE``; every ingestion replica consumes it
(competing consumers) and also each *partition queue* ``<queue>.p<NNN>`` of the partitions
it holds (:class:`~adapters.partitions.leases.PartitionLeases`). A payment's partition is
the one of the account it debits: the debtor's, when the debtor holds an account here, else
the creditor's (an incoming payment debits clearing and credits the creditor). A replica
books the messages of its own partitions and forwards the others, unchanged, to their
partition queue, where the owner takes them (:meth:`PartitionRouter.split`). A replica that
holds every partition (the only one) forwards nothing.

A batch is booked under a :class:`~adapters.partitions.scope.LeaseScope` of the partitions
held when it started: the event store proves those leases in the insert transaction, so a
replica that lost a partition meanwhile commits nothing (``LeaseLost``) and routes the batch
again. A credit to an account of another replica's partition is left pending and applied by
that replica (:class:`PendingCreditApplier`).

A message whose payments debit accounts of several partitions (a pacs.008 with several
debtors) cannot be single-written: it is booked by whichever replica receives it, outside
any scope, with the optimistic version checks that guard every unscoped writer (the API's,
too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from sqlalchemy import Engine

from adapters.partitions.leases import PartitionLeases
from adapters.partitions.scope import LeaseScope, PendingCredits
from application.ledger.commands import PaymentInstruction
from application.ledger.ports import PendingCredit, WriteScope
from domain.ledger.partitions import partition_of

PARTITION_SUBSCRIPTION_PREFIX = "ledger-partition-"
"""The subscription id of a partition queue is this prefix and the partition number."""

M = TypeVar("M")


def partition_queue(queue: str, partition: int) -> str:
    """The destination of ``partition``'s queue, next to the inbound ``queue``."""
    return f"{queue}.p{partition:03d}"


class AccountDirectory(Protocol):
    """Which account keys have an account (the ledger answers it)."""

    def existing_accounts(self, keys: Iterable[str]) -> set[str]: ...


class CreditApplier(Protocol):
    def apply_pending_credits(self, pending: Sequence[PendingCredit], scope: WriteScope) -> int: ...


@dataclass
class Routed(Generic[M]):
    """One batch split by :meth:`PartitionRouter.split`."""

    local: list[M] = field(default_factory=list)
    """The messages this replica books under :attr:`scope`."""
    forward: dict[int, list[M]] = field(default_factory=dict)
    """The messages of partitions held elsewhere, by partition."""
    unscoped: list[M] = field(default_factory=list)
    """Messages debiting accounts of several partitions: booked here, outside any scope."""
    scope: LeaseScope | None = None


class PartitionRouter:
    """Splits batches by partition and hands out the scope of the partitions held."""

    def __init__(
        self,
        leases: PartitionLeases,
        directory: AccountDirectory,
        *,
        schema: str | None,
        write_log: bool = False,
    ) -> None:
        self.leases = leases
        self.directory = directory
        self.partitions = leases.partitions
        self.schema = schema
        self.write_log = write_log

    def ready(self) -> bool:
        """Whether the lease member has stepped once (before, it would forward everything)."""
        return self.leases.stepped.is_set()

    def owned(self) -> frozenset[int]:
        return frozenset(self.leases.owned())

    def scope(self) -> LeaseScope:
        return LeaseScope(
            self.leases.owned(), self.partitions, self.schema, write_log=self.write_log
        )

    def split(
        self, messages: Sequence[M], instructions_of: Callable[[M], Sequence[PaymentInstruction]]
    ) -> Routed[M]:
        """Route each message by the partition of the account its payments debit."""
        scope = self.scope()
        routed: Routed[M] = Routed(scope=scope)
        debtors = {
            instruction.debtor.iban.value
            for message in messages
            for instruction in instructions_of(message)
        }
        ours = self.directory.existing_accounts(debtors)
        for message in messages:
            partitions = {
                partition_of(debit_key(instruction, ours), self.partitions)
                for instruction in instructions_of(message)
            }
            if len(partitions) != 1:
                routed.unscoped.append(message)
                continue
            [partition] = partitions
            if partition in scope.leases:
                routed.local.append(message)
            else:
                routed.forward.setdefault(partition, []).append(message)
        return routed


def debit_key(instruction: PaymentInstruction, ours: set[str]) -> str:
    """The account a payment debits and writes first: the debtor's when it is ours, else
    (an incoming payment) the creditor's, credited from clearing."""
    debtor = instruction.debtor.iban.value
    return debtor if debtor in ours else instruction.creditor.iban.value


class PendingCreditApplier:
    """Applies the pending credits of the partitions held (the second step of two-step
    postings), oldest first, a batch at a time, each batch under the scope of its start."""

    def __init__(
        self, router: PartitionRouter, ledger: CreditApplier, engine: Engine, batch: int = 500
    ) -> None:
        self.router = router
        self.ledger = ledger
        self.pending = PendingCredits(engine)
        self.batch = batch

    def pending_for(self, scope: LeaseScope) -> list[PendingCredit]:
        """The oldest pending credits of ``scope``'s partitions (a batch's worth)."""
        return self.pending.of(scope.leases.keys(), self.batch)

    def apply_once(self) -> int:
        """Apply one batch; how many credits were pending in it (0: nothing to do)."""
        scope = self.router.scope()
        pending = self.pending_for(scope)
        if pending:
            self.ledger.apply_pending_credits(pending, scope)
        return len(pending)
