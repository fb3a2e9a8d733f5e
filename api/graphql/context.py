"""The per-request GraphQL context: the container, the principal, and fresh DataLoaders."""

from __future__ import annotations

from strawberry.fastapi import BaseContext

from api.graphql.loaders import Loaders
from api.runtime.bootstrap import Container
from api.runtime.metrics import Metrics
from api.security import Principal, authorize
from domain.causation import Causation


class LedgerContext(BaseContext):
    def __init__(
        self,
        container: Container,
        principal: Principal,
        correlation_id: str,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__()
        self.container = container
        self.principal = principal
        self.correlation_id = correlation_id
        self.metrics = metrics
        self.loaders = Loaders(container.queries)

    def authorize(self, permission: str) -> Principal:
        return authorize(self.principal, permission)

    def causation(self) -> Causation:
        return Causation(
            actor=self.principal.name, correlation_id=self.correlation_id, channel="GRAPHQL"
        )
