"""The screening decision behind a transaction, as GraphQL shows it.

Apart from ``api.graphql.fraud`` so that ``Transaction.screening`` (in
``api.graphql.ledger_types``) and the fraud case queue share it without the two modules
importing each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.graphql.context import LedgerContext
from api.graphql.errors import in_thread
from api.security import Permission
from projections.fraud.queries import FraudQueries, ScreeningView

Info = strawberry.Info[LedgerContext, None]


@strawberry.type(description="A feature that pushed the fraud score up, with its value")
class FeatureContribution:
    feature: str
    value: str
    contribution: str = strawberry.field(description="Contribution to the score in log-odds")


def contributions(items: list[dict[str, str]] | None) -> list[FeatureContribution]:
    return [
        FeatureContribution(feature=i["feature"], value=i["value"], contribution=i["contribution"])
        for i in items or []
    ]


@strawberry.type(description="Why the screening decided as it did")
class ScreeningDecision:
    outcome: str
    score: str | None = strawberry.field(description="Fraud probability, as a decimal string")
    model_version: str | None
    rule_hits: list[str]
    top_features: list[FeatureContribution]
    features: JSON | None = strawberry.field(description="Feature values the model saw")
    screened_at: datetime

    @classmethod
    def of(cls, view: ScreeningView) -> ScreeningDecision:
        return cls(
            outcome=view.outcome,
            score=view.score,
            model_version=view.model_version,
            rule_hits=list(view.rule_hits),
            top_features=contributions(view.top_features),
            features=cast(JSON, view.features),
            screened_at=view.screened_at,
        )


def fraud_queries(info: Info) -> FraudQueries:
    return info.context.container.fraud_queries


async def screening_of(info: Info, transaction_id: str) -> ScreeningDecision | None:
    info.context.authorize(Permission.FRAUD_READ)
    view = await in_thread(fraud_queries(info).screening, transaction_id)
    return ScreeningDecision.of(view) if view is not None else None
