"""The fraud context's event-sourced application: the model registry and fraud cases.

:class:`FraudApplication` (``fraud``, its own event table) records the model registry
(register, promote, roll back), the fraud cases and their escalations. The rest of the
context is beside it: the online features (:mod:`application.fraud.features`), the model
screening (:mod:`application.fraud.screening`), the analysts' cases
(:mod:`application.fraud.cases`) and their escalation (:mod:`application.fraud.escalation`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.utils import EnvType

from application.errors import Conflict
from domain.errors import DomainError
from domain.fraud.registry import REGISTRY_ID, ModelRegistry


class FraudApplication(Application[UUID]):
    """The model registry (and fraud cases) of the fraud context."""

    name = "fraud"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self._lock = threading.RLock()
        self.registry_listeners: list[Callable[[], None]] = []

    # -- model registry --------------------------------------------------------------

    def registry(self) -> ModelRegistry:
        try:
            registry: ModelRegistry = self.repository.get(REGISTRY_ID)
        except AggregateNotFoundError:
            return ModelRegistry()
        return registry

    def register_model(self, version: str, details: dict[str, Any]) -> bool:
        """Register a trained model; False when it was registered before. Floats in
        ``details`` (metrics) are recorded as decimal strings."""
        with self._lock:
            registry = self.registry()
            if version in registry.models:
                return False
            registry.register(version, decimal_strings(details))
            self.save(registry)
            return True

    def promote(self, version: str, reason: str) -> ModelRegistry:
        """Make ``version`` the model that scores payments (an audited event)."""
        return self._change(lambda registry: registry.promote(version, reason))

    def rollback(self, reason: str) -> ModelRegistry:
        """Go back to the previously promoted model (or to rules only)."""
        return self._change(lambda registry: registry.rollback(reason))

    def shadow(self, version: str, reason: str) -> ModelRegistry:
        """Score ``version`` in shadow beside the promoted model (an audited event); its
        decisions are recorded with every screening and never acted upon."""
        return self._change(lambda registry: registry.shadow(version, reason))

    def stop_shadow(self, reason: str) -> ModelRegistry:
        """Stop scoring the challenger (an audited event)."""
        return self._change(lambda registry: registry.stop_shadow(reason))

    def promoted_version(self) -> str | None:
        return self.registry().promoted

    def challenger_version(self) -> str | None:
        return self.registry().challenger

    def _change(self, change: Callable[[ModelRegistry], None]) -> ModelRegistry:
        with self._lock:
            registry = self.registry()
            try:
                change(registry)
            except DomainError as error:
                raise Conflict(str(error)) from None
            self.save(registry)
        for listener in self.registry_listeners:
            listener()
        return registry


def decimal_strings(value: Any) -> Any:
    """``value`` with every float replaced by its shortest decimal string (events hold no
    floats); dicts, lists and tuples are converted recursively."""
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f") if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {key: decimal_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [decimal_strings(item) for item in value]
    return value
