"""The GraphQL schema, assembled: each context's queries and mutations, and the limits.

``Query`` and ``Mutation`` inherit one class per context (:mod:`api.graphql.ledger`,
:mod:`api.graphql.fraud`, :mod:`api.graphql.identity`, :mod:`api.graphql.notifications`,
:mod:`api.graphql.reconciliation`, :mod:`api.graphql.vop`); the generic types are
:mod:`api.graphql.common`. Every resolver calls ``info.context.authorize(<permission>)``
first (the one authorization seam). Executions run off the server's event loop, in a worker
thread each, and blocking work goes through ``in_thread`` (see :mod:`api.graphql.execution`).
Mutations run inside
``caused_by(Causation(actor=<principal>, correlation_id=<request's>, channel="GRAPHQL"))``.
The schema text is exported to ``api/graphql/schema.graphql`` by ``python -m api.graphql.schema``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig

from api.graphql.budget import GraphQLBudget
from api.graphql.cost import CostLimiter
from api.graphql.errors import ApiError
from api.graphql.execution import ExecutionGate
from api.graphql.fraud import FraudMutation, FraudQuery
from api.graphql.fraud_claims import FraudClaimMutation, FraudClaimQuery
from api.graphql.identity import IdentityMutation, IdentityQuery
from api.graphql.ledger import LedgerMutation, LedgerQuery
from api.graphql.notifications import NotificationsQuery
from api.graphql.policy import UNEXPECTED_MESSAGE, LedgerSchema, should_mask
from api.graphql.reconciliation import ReconciliationMutation, ReconciliationQuery
from api.graphql.scalars import DateTime
from api.graphql.suggestions import HideSuggestions
from api.graphql.vop import VopQuery
from api.runtime.settings import (
    DEFAULT_GRAPHQL_MAX_ALIASES,
    DEFAULT_GRAPHQL_MAX_DEPTH,
    DEFAULT_GRAPHQL_MAX_TOKENS,
)


@strawberry.type
class Query(
    FraudQuery,
    FraudClaimQuery,
    IdentityQuery,
    NotificationsQuery,
    ReconciliationQuery,
    VopQuery,
    LedgerQuery,
):
    """Every context's queries; the ledger's come last (the order of the published schema)."""


@strawberry.type
class Mutation(
    FraudMutation, FraudClaimMutation, IdentityMutation, ReconciliationMutation, LedgerMutation
):
    """Every context's mutations; the ledger's come last (the order of the published schema)."""


# --------------------------------------------------------------------------- schema


def build_schema(
    *,
    production: bool = False,
    max_depth: int = DEFAULT_GRAPHQL_MAX_DEPTH,
    max_tokens: int = DEFAULT_GRAPHQL_MAX_TOKENS,
    max_aliases: int = DEFAULT_GRAPHQL_MAX_ALIASES,
    budget: GraphQLBudget | None = None,
) -> LedgerSchema:
    """The schema; in production without introspection (and without suggestions of names).

    A document is refused before anything runs when it has more than ``max_tokens`` tokens
    (the parser stops there, so a huge document costs little), nests fields deeper than
    ``max_depth``, aliases more than ``max_aliases`` fields (aliases let one request ask for
    the same expensive field many times), or costs more than the ``budget`` allows
    (:mod:`api.graphql.cost`). Page sizes are bounded by ``first`` (see
    :data:`api.graphql.common.MAX_PAGE`). With a ``budget`` every execution runs off the
    server's event loop within its deadline and concurrency limits; without one (schema
    export, tests calling the schema directly) on the caller's loop without those limits.
    """
    limits = budget or GraphQLBudget()
    extensions: list[Any] = [
        lambda: MaskErrors(should_mask_error=should_mask, error_message=UNEXPECTED_MESSAGE),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: QueryDepthLimiter(max_depth=max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
        lambda: CostLimiter(max_cost=limits.max_cost, max_nested_page=limits.max_nested_page),
    ]
    if production:
        extensions += [DisableIntrospection, HideSuggestions]
    gate = (
        ExecutionGate(
            deadline_seconds=budget.deadline_seconds,
            max_concurrent=budget.max_concurrent,
            workers=budget.workers,
        )
        if budget is not None
        else None
    )
    return LedgerSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
        gate=gate,
        hide_suggestions=production,
    )


SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def export_schema(path: Path = SCHEMA_FILE) -> str:
    text = build_schema().as_str() + "\n"
    path.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":  # pragma: no cover - documentation helper
    sys.stdout.write(export_schema())

__all__ = ["UNEXPECTED_MESSAGE", "ApiError", "LedgerSchema", "build_schema", "export_schema"]
