"""Ports shared by several contexts, as ``typing.Protocol`` and plain data.

Each context keeps the ports it needs in its own ``ports.py``
(``application/<context>/ports.py``); only what several contexts speak in is here:

* the screening's data: the ledger builds a :class:`ScreeningRequest` and asks its
  :class:`~application.ledger.ports.Screening` port; the fraud context's model screening
  answers with a :class:`ScreeningDecision`;
* :data:`EventFeed`, how the fraud and notifications contexts read another context's log;
* :class:`StoredVersions`, what an event store says of many aggregates at once (the ledger's
  unit of work asks it which of its reads a conflicting commit found stale).

The clock (:data:`~application.unit_of_work.Clock`) is in :mod:`application.unit_of_work`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from domain.ledger.transactions import ScreeningOutcome


@dataclass(frozen=True, slots=True)
class ScreeningRequest:
    """What a screening implementation sees of a payment before money moves."""

    transaction_id: str
    channel: str
    amount: Decimal
    currency: str
    debtor_iban: str
    creditor_iban: str
    debtor_is_ours: bool
    creditor_is_ours: bool
    debtor_outflow_today: Decimal
    requested_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None
    """When the ledger recorded the payment (its ``Received`` event)."""
    vop_check_id: str | None = None
    """The Verification of Payee check the payer saw before paying, when the channel sent one."""


@dataclass(frozen=True, slots=True)
class ScreeningDecision:
    """The outcome with its explanation: rule hits, and a score and model when a model ran."""

    outcome: ScreeningOutcome
    rule_hits: list[str] = field(default_factory=list)
    score: Decimal | None = None
    model_version: str | None = None
    features: dict[str, str] = field(default_factory=dict)
    """The feature values the model saw, as decimal strings (empty without a model)."""
    top_features: list[dict[str, str]] = field(default_factory=list)
    """The features that pushed the score up most: ``feature``, ``value``, ``contribution``."""
    challenger: dict[str, str] | None = None
    """The challenger model scored in shadow: ``version`` with ``score`` and ``outcome`` (the
    decision it would have taken, never acted upon), or ``error``; None without one."""


EventFeed = Callable[[int, int], Sequence[tuple[int, object]]]
"""``feed(after, limit)``: up to ``limit`` (position, domain event) of a log after ``after``."""


@runtime_checkable
class StoredVersions(Protocol):
    """An event store's recorder that answers, in one query, how far many aggregates have got.

    Implemented by the recorders of :mod:`adapters.pg_event_store` (PostgreSQL) and
    :mod:`adapters.sqlite_event_store` (SQLite); a unit of work whose commit conflicted
    compares the answer with the versions it read, to retry only what was stale.
    """

    def current_versions(self, originator_ids: Collection[UUID]) -> dict[UUID, int]:
        """The highest stored version of each of ``originator_ids`` that has events; an id
        with none (no such aggregate) is left out."""
        ...


@runtime_checkable
class BulkEvents(Protocol):
    """An event store's recorder that reads the stored events of many aggregates in one query
    (the PostgreSQL recorder): a unit of work about to read many aggregates written by another
    process (pending credits) prefetches them instead of one read each."""

    def select_events_of(self, originator_ids: Collection[UUID]) -> dict[UUID, list[Any]]:
        """Each aggregate's stored events in version order (an id without any is left out)."""
        ...
