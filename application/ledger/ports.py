"""What the ledger needs from the outside world: the screening of a payment before it is
booked (implemented by the rules here, or by the fraud context's model screening, wired
by the composition root), and the scope of a partitioned writer, as ``typing.Protocol``.

The screening's data, :class:`~application.ports.ScreeningRequest` and
:class:`~application.ports.ScreeningDecision`, are in the shared :mod:`application.ports`:
the ledger builds the request and the fraud context the decision, so neither context can
own them without the other importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from uuid import UUID

from application.ports import ScreeningDecision, ScreeningRequest


class Screening(Protocol):
    """Decides APPROVE / REVIEW / DECLINE for a payment before it is booked."""

    def screen(self, request: ScreeningRequest) -> ScreeningDecision: ...


@runtime_checkable
class BookingObserver(Protocol):
    """A screening that keeps state from what is booked (online fraud features).

    ``booked`` gets the events of each payment a unit of work books, before the commit,
    so later payments of the same batch see earlier ones; ``unit_ended`` is called after
    every unit of work, committed or not (the committed events come back from the log).
    """

    def booked(self, events: Sequence[object]) -> None: ...

    def unit_ended(self) -> None: ...


@runtime_checkable
class WriteScope(Protocol):
    """The accounts a writer may write: all of them (no scope), or, for a partitioned
    ingestion replica, those of the partitions it holds (docs/scale-out.md).

    A payment whose creditor is outside the scope posts in two steps: the debit side now,
    to ``in-transit:<CCY>``, and the credit later, by the writer whose scope has it
    (:meth:`~application.ledger.app.LedgerApplication.apply_pending_credits`).
    """

    def owns(self, account_key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class PendingCredit:
    """A two-step posting's credit not applied yet: which transaction, to which account."""

    transaction_id: UUID
    account_key: str
    currency: str


@dataclass(frozen=True)
class WriteProof:
    """What a unit of work under a :class:`WriteScope` commits, handed to the event store
    with its events (the ``write_proof`` keyword of ``Application.save``).

    The store proves in the same database transaction that the scope still holds every
    written account (a fence: nothing commits otherwise), and records the credits sent in
    transit and those applied, so a pending credit is never lost nor applied twice.
    ``accounts``: the customer accounts written; ``sent``: the credits left pending;
    ``applied``: the transactions whose pending credit this unit applied (or found applied).
    """

    scope: WriteScope
    accounts: frozenset[str]
    sent: Sequence[PendingCredit] = ()
    applied: frozenset[UUID] = frozenset()
