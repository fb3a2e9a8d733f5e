"""Ports: what the use cases need from the outside world, as ``typing.Protocol``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from domain.ledger.transactions import ScreeningOutcome
from domain.reconciliation.matching import LedgerSide

Clock = Callable[[], datetime]
"""Returns the current UTC time; injected so tests and replays control it."""


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


class FraudModel(Protocol):
    """A trained fraud model, loaded and ready to score one payment."""

    @property
    def version(self) -> str: ...

    @property
    def features(self) -> tuple[str, ...]: ...

    def explain(self, values: Sequence[float]) -> tuple[float, list[float]]:
        """The fraud probability and each feature's contribution (log-odds)."""
        ...


class ModelLoader(Protocol):
    """Loads a registered model version (from wherever artifacts are kept)."""

    def load(self, version: str) -> FraudModel: ...


EventFeed = Callable[[int, int], Sequence[tuple[int, object]]]
"""``feed(after, limit)``: up to ``limit`` (position, domain event) of a log after ``after``."""


class ChangeExecutor(Protocol):
    """Carries out approved changes of other contexts (the ledger's freeze, unfreeze and
    reversal) for the identity context's maker-checker, which never imports them.

    Both methods raise :class:`~application.errors.ApplicationError` (``NotFound``,
    ``Conflict`` ...) to refuse.
    """

    def check(self, kind: str, subject: str, params: Mapping[str, str]) -> dict[str, str]:
        """Before a request is made: that ``subject`` exists and the change applies now;
        returns facts to record with the request (a reversal's amount and currency)."""
        ...

    def execute(
        self, kind: str, subject: str, params: Mapping[str, str], *, request_id: str
    ) -> str:
        """Make the approved change of request ``request_id``; returns a one-line outcome.

        Idempotent per request: when the change of ``request_id`` has already taken effect
        (a second approve of the same request, on another replica or after a crash), it
        returns the outcome without changing anything again."""
        ...


class LedgerStatementSide(Protocol):
    """The ledger's side of a statement, read from the ledger's read models: the account's
    postings booked in a period and its balance at the period's end.

    Implementations make sure the read models include everything the ledger recorded before
    the call (the matching must not run on a lagging read model).
    """

    def account_period(self, account: str, from_date: date, to_date: date) -> LedgerSide | None:
        """The account's facts for the period, or None when the ledger holds no such account."""
        ...
