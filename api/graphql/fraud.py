"""GraphQL for fraud analysts: the case queue, a decision's explanation, assign and decide.

``Query`` and ``Mutation`` in ``schema.py`` inherit :class:`FraudQuery` and
:class:`FraudMutation`; ``Transaction.screening`` resolves to :class:`ScreeningDecision`.
A case is named by the id of the transaction it reviews.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import strawberry

from api.graphql.common import Connection, Money, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import bad_input, checked, in_thread, write_through
from api.graphql.ledger_types import Transaction
from api.graphql.screening import FeatureContribution, contributions, fraud_queries
from api.presentation import transaction_uuid
from api.security import Permission
from application.errors import ApprovalRequired
from domain.fraud.cases import Verdict
from projections.fraud.queries import FraudCaseView

Info = strawberry.Info[LedgerContext, None]
R = TypeVar("R")


@strawberry.enum(description="Where a case is in the analyst's work")
class FraudCaseStatus(Enum):
    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    DECIDED = "DECIDED"


@strawberry.enum(description="An analyst's verdict; it is the label the next training learns")
class FraudVerdict(Enum):
    CONFIRMED_FRAUD = "CONFIRMED_FRAUD"
    FALSE_POSITIVE = "FALSE_POSITIVE"


@strawberry.type(description="A payment the screening held for review, and the analyst's work")
class FraudCase:
    id: strawberry.ID = strawberry.field(description="The reviewed transaction's id")
    status: FraudCaseStatus
    verdict: FraudVerdict | None
    assignee: str | None
    note: str | None
    decided_by: str | None
    transaction_status: str | None
    amount: Money | None
    held: Money | None = strawberry.field(
        description="Funds held on the debtor's account while the case is open"
    )
    debtor_iban: str | None
    creditor_iban: str | None
    score: str | None
    model_version: str | None
    rule_hits: list[str]
    top_features: list[FeatureContribution]
    opened_at: datetime | None
    updated_at: datetime | None
    escalated_at: datetime | None = strawberry.field(
        description="When the fraud role escalated the case: still undecided, with the payment "
        "held, past the review deadline (LEDGER_FRAUD_REVIEW_DEADLINE_MINUTES)"
    )

    @classmethod
    def of(cls, view: FraudCaseView) -> FraudCase:
        def money(amount: str | None) -> Any:
            if amount is None or view.currency is None:
                return None
            return Money.of(Decimal(amount), view.currency)

        return cls(
            id=strawberry.ID(view.transaction_id),
            status=FraudCaseStatus(view.status),
            verdict=FraudVerdict(view.verdict) if view.verdict else None,
            assignee=view.assignee,
            note=view.note,
            decided_by=view.decided_by,
            transaction_status=view.transaction_status,
            amount=money(view.amount),
            held=money(view.held_amount),
            debtor_iban=view.debtor_iban,
            creditor_iban=view.creditor_iban,
            score=view.score,
            model_version=view.model_version,
            rule_hits=list(view.rule_hits),
            top_features=contributions(view.top_features),
            opened_at=view.opened_at,
            updated_at=view.updated_at,
            escalated_at=view.escalated_at,
        )

    @strawberry.field(description="The held transaction")
    async def transaction(self, info: Info) -> Transaction | None:
        info.context.authorize(Permission.TRANSACTIONS_READ)
        view = await info.context.loaders.transactions.load((str(self.id), None))
        return Transaction.of(view, None) if view is not None else None


@strawberry.type
class FraudQuery:
    @strawberry.field(description="The fraud case queue, newest first (keyset pagination)")
    async def fraud_cases(
        self,
        info: Info,
        status: FraudCaseStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FraudCase]:
        info.context.authorize(Permission.FRAUD_READ)
        queries = fraud_queries(info)
        wanted = status.value if status is not None else None
        page = await in_thread(paginate, queries.cases, wanted, page_size(first), after=after)
        return connection(page, FraudCase.of)

    @strawberry.field(description="One fraud case, by the id of the transaction it reviews")
    async def fraud_case(self, info: Info, id: strawberry.ID) -> FraudCase | None:
        info.context.authorize(Permission.FRAUD_READ)
        tx_id = str(checked(transaction_uuid, str(id)))
        view = await in_thread(fraud_queries(info).case, tx_id)
        return FraudCase.of(view) if view is not None else None


async def _case_after(
    info: Info, tx_id: str, case: Any, transaction_status: str | None = None
) -> FraudCase:
    """The case as the read model has it, with the analyst's change just made on top (the
    projector may not have caught up yet)."""
    view = await in_thread(fraud_queries(info).case, tx_id)
    if view is None:
        view = FraudCaseView(tx_id, "OPEN")
    changes: dict[str, Any] = {"status": str(case.status), "assignee": case.assignee}
    if case.verdict is not None:
        changes.update(verdict=case.verdict, held_amount=None)
    if transaction_status is not None:
        changes["transaction_status"] = transaction_status
    return FraudCase.of(dataclasses.replace(view, **changes))


@strawberry.type
class FraudMutation:
    @strawberry.mutation(description="Assign a case to an analyst (default: the caller)")
    async def assign_fraud_case(
        self, info: Info, id: strawberry.ID, analyst: str | None = None
    ) -> FraudCase:
        principal = info.context.authorize(Permission.FRAUD_DECIDE)
        tx_id = checked(transaction_uuid, str(id))
        cases = info.context.container.fraud_cases
        who = (analyst or "").strip() or principal.name
        case = await write_through(info, lambda: cases.assign(tx_id, who))
        return await _case_after(info, str(tx_id), case)

    @strawberry.mutation(
        description="Decide a case: CONFIRMED_FRAUD rejects the held payment (or reverses a "
        "posted one, which needs transactions:reverse too, and above the reversal approval "
        "threshold fails with APPROVAL_REQUIRED: use requestReversal, then decide again); "
        "FALSE_POSITIVE releases and posts it"
    )
    async def decide_fraud_case(
        self, info: Info, id: strawberry.ID, verdict: FraudVerdict, note: str | None = None
    ) -> FraudCase:
        info.context.authorize(Permission.FRAUD_DECIDE)
        tx_id = checked(transaction_uuid, str(id))
        cases = info.context.container.fraud_cases
        text = (note or "").strip()
        if verdict is FraudVerdict.CONFIRMED_FRAUD and not text:
            raise bad_input("note: a confirmed fraud needs a note")

        def may_reverse() -> object:  # reversing a posted payment is a reversal's permission
            return info.context.authorize(Permission.TRANSACTIONS_REVERSE)

        def decide() -> tuple[Any, Any]:
            try:
                return cases.decide(
                    tx_id, Verdict(verdict.value), text, authorize_reversal=may_reverse
                )
            except ApprovalRequired as error:
                raise ApprovalRequired(
                    f"{error}; the case stays open: ask for the reversal with requestReversal, "
                    "have it approved, then decide the case again (it records the verdict "
                    "without reversing twice)"
                ) from None

        case, result = await write_through(info, decide)
        return await _case_after(info, str(tx_id), case, result.status)
