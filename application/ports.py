"""Ports: what the use cases need from the outside world, as ``typing.Protocol``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from domain.ledger.transactions import ScreeningOutcome

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


@dataclass(frozen=True, slots=True)
class ScreeningDecision:
    """The outcome with its explanation: rule hits, and a score and model when a model ran."""

    outcome: ScreeningOutcome
    rule_hits: list[str] = field(default_factory=list)
    score: Decimal | None = None
    model_version: str | None = None


class Screening(Protocol):
    """Decides APPROVE / REVIEW / DECLINE for a payment before it is booked."""

    def screen(self, request: ScreeningRequest) -> ScreeningDecision: ...
