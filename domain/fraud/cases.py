"""A fraud case: an analyst's review of one payment the screening held.

::

    OPEN -> ASSIGNED -> DECIDED (CONFIRMED_FRAUD | FALSE_POSITIVE)
    OPEN ------------> DECIDED

The case is opened in the fraud context when an analyst first acts on it, or when the
fraud role escalates it; the ledger's ``Screened`` (REVIEW) and ``Held`` events are what
put it in the queue. A case still undecided after the review deadline is *escalated*
once (a flag beside the status, so the queue and the notifications can single it out);
escalation changes nothing else. A decision is final, and it is the label the next
training learns from.
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
        self.escalated = False

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

    def escalate(self, waiting_since: datetime, deadline_minutes: int) -> None:
        """Mark the undecided case as overdue: the payment has waited since
        ``waiting_since``, longer than the ``deadline_minutes`` review deadline."""
        if self.status is CaseStatus.DECIDED:
            raise CaseError(f"case of {self.transaction_id} is decided; it cannot be escalated")
        if self.escalated:
            raise CaseError(f"case of {self.transaction_id} is already escalated")
        if deadline_minutes <= 0:
            raise CaseError("an escalation needs a positive review deadline")
        self._escalated(
            transaction_id=self.transaction_id,
            waiting_since=waiting_since,
            deadline_minutes=deadline_minutes,
        )

    @event("Escalated")
    def _escalated(
        self, transaction_id: str, waiting_since: datetime, deadline_minutes: int
    ) -> None:
        self.escalated = True
