"""A fraud case: an analyst's review of one payment the screening held.

::

    OPEN -> ASSIGNED -> DECIDED (CONFIRMED_FRAUD | FALSE_POSITIVE)
    OPEN ------------> DECIDED

The case is opened in the fraud context when an analyst first acts on it; the
ledger's ``Screened`` (REVIEW) and ``Held`` events are what put it in the queue.
A decision is final, and it is the label the next training learns from.

A case still undecided after the review deadline is *escalated* once by the fraud role:
an :class:`Escalation` aggregate of its own (one per transaction, by its id), never an
event on the case, so that the sweep, running in another process, can never make an
analyst's decision conflict after the ledger has already acted on it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import DomainError
from domain.fraud.registry import FRAUD_NAMESPACE


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    DECIDED = "DECIDED"


class Verdict(StrEnum):
    CONFIRMED_FRAUD = "CONFIRMED_FRAUD"
    FALSE_POSITIVE = "FALSE_POSITIVE"


class CaseError(DomainError):
    """A case command its state does not allow."""


def case_id(transaction_id: UUID | str) -> UUID:
    return uuid5(FRAUD_NAMESPACE, f"case:{transaction_id}")


class FraudCase(AttributedAggregate):
    @staticmethod
    def create_id(transaction_id: str) -> UUID:
        return case_id(transaction_id)

    @event("Opened")
    def __init__(self, transaction_id: str) -> None:
        self.transaction_id = transaction_id
        self.status = CaseStatus.OPEN
        self.assignee: str | None = None
        self.verdict: str | None = None

    def assign(self, analyst: str) -> None:
        if self.status is CaseStatus.DECIDED:
            raise CaseError(f"case of {self.transaction_id} is decided; it cannot be assigned")
        if not analyst.strip():
            raise CaseError("an assignment needs an analyst")
        self._assigned(transaction_id=self.transaction_id, analyst=analyst.strip())

    @event("Assigned")
    def _assigned(self, transaction_id: str, analyst: str) -> None:
        self.assignee = analyst
        self.status = CaseStatus.ASSIGNED

    def decide(self, verdict: Verdict, note: str) -> None:
        if self.status is CaseStatus.DECIDED:
            raise CaseError(f"case of {self.transaction_id} is already decided ({self.verdict})")
        self._decided(transaction_id=self.transaction_id, verdict=verdict.value, note=note)

    @event("Decided")
    def _decided(self, transaction_id: str, verdict: str, note: str) -> None:
        self.verdict = verdict
        self.status = CaseStatus.DECIDED


def escalation_id(transaction_id: UUID | str) -> UUID:
    return uuid5(FRAUD_NAMESPACE, f"escalation:{transaction_id}")


class Escalation(AttributedAggregate):
    """The fraud role's mark on a case undecided past the review deadline: created once
    (a second creation conflicts on its id), never changed. Create it with :func:`escalate`."""

    @staticmethod
    def create_id(transaction_id: str, waiting_since: datetime, deadline_minutes: int) -> UUID:
        return escalation_id(transaction_id)

    @event("Escalated")
    def __init__(self, transaction_id: str, waiting_since: datetime, deadline_minutes: int) -> None:
        self.transaction_id = transaction_id
        self.waiting_since = waiting_since
        self.deadline_minutes = deadline_minutes


def escalate(transaction_id: str, waiting_since: datetime, deadline_minutes: int) -> Escalation:
    """Escalate the case of ``transaction_id``: held since ``waiting_since``, longer than the
    ``deadline_minutes`` review deadline."""
    if deadline_minutes <= 0:
        raise CaseError("an escalation needs a positive review deadline")
    return Escalation(transaction_id, waiting_since, deadline_minutes)
