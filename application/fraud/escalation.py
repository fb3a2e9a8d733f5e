"""The fraud role's sweep that escalates cases waiting too long for a decision."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import NotFound
from application.fraud.app import FraudApplication
from application.fraud.ports import OverdueCases, Transactions
from application.unit_of_work import Clock
from domain.fraud.cases import CaseStatus, FraudCase, case_id, escalate, escalation_id
from domain.ledger.transactions import TransactionStatus

log = logging.getLogger(__name__)


class CaseEscalation:
    """The fraud role's sweep: escalate every case whose payment has waited for a decision
    longer than the review deadline (once per case; an ``Escalated`` event by the fraud
    service, which the queue shows and notification rules can fire on).

    The list of overdue cases comes from the read model, which may lag: each candidate is
    checked again on the write side (the payment still HELD, the case not decided) and the
    escalation is an aggregate of its own whose id is derived from the transaction, so a
    repeated sweep, or several fraud replicas sweeping at once, record it once (a second
    creation conflicts and is dropped), and an analyst deciding the case meanwhile never
    conflicts with it.
    """

    def __init__(
        self,
        fraud: FraudApplication,
        ledger: Transactions,
        overdue: OverdueCases,
        clock: Clock,
        deadline: timedelta,
        batch: int = 100,
    ) -> None:
        if deadline <= timedelta(0):
            raise ValueError("the review deadline must be positive")
        self.fraud = fraud
        self.ledger = ledger
        self.overdue = overdue
        self.clock = clock
        self.deadline = deadline
        self.batch = batch

    def sweep(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Escalate the overdue cases of one batch, until ``should_stop``; returns how many
        were escalated."""
        cutoff = self.clock() - self.deadline
        minutes = max(int(self.deadline.total_seconds() // 60), 1)
        escalated = 0
        for transaction_id, waiting_since in self.overdue(cutoff, self.batch):
            if should_stop():
                break
            if self._escalate(transaction_id, waiting_since, minutes):
                escalated += 1
                log.info(
                    "fraud case of %s escalated (held since %s)", transaction_id, waiting_since
                )
        return escalated

    def _escalate(self, transaction_id: str, waiting_since: datetime, minutes: int) -> bool:
        if self._exists(escalation_id(transaction_id)):
            return False
        try:
            case: FraudCase = self.fraud.repository.get(case_id(transaction_id))
            if case.status is CaseStatus.DECIDED:
                return False
        except AggregateNotFoundError:
            pass  # no analyst has acted on it yet
        try:
            status = self.ledger.get_transaction(UUID(transaction_id)).status
        except NotFound:
            return False  # not a ledger transaction (a read model out of step): nothing to do
        if status != TransactionStatus.HELD:
            return False  # released, rejected or reversed meanwhile: nothing waits any more
        try:
            self.fraud.save(escalate(transaction_id, waiting_since, minutes))
        except IntegrityError:
            return False  # another replica escalated it first
        return True

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.fraud.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True
