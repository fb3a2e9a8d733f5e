"""The model registry: which fraud models exist and which one scores payments.

Registering, promoting and rolling back are events of one aggregate, so every
change of the model that decides payments is attributed and never forgotten.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import DomainError

FRAUD_NAMESPACE = UUID("0d4f3a8e-5b1c-4f77-9a61-3c2e8f1b7a10")
REGISTRY_ID = uuid5(FRAUD_NAMESPACE, "model-registry")


class RegistryError(DomainError):
    """A registry command that the registry's state does not allow."""


class ModelRegistry(AttributedAggregate):
    """Registered model versions, the promoted one and the promotion history, and the
    challenger scored in shadow beside the promoted one (its decisions recorded, never
    acted upon)."""

    challenger: str | None = None
    """Set by ``ChallengerSet``, cleared by ``ChallengerStopped`` (a class default: registries
    recorded before challengers existed replay without one)."""

    @staticmethod
    def create_id() -> UUID:
        return REGISTRY_ID

    @event("Started")
    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.promoted: str | None = None
        self.history: list[str] = []
        """Promoted versions, oldest first; the last one is the current."""

    def register(self, version: str, details: dict[str, Any]) -> None:
        if version in self.models:
            raise RegistryError(f"model {version} is already registered")
        if _has_float(details):
            raise RegistryError("model details hold no floats: record numbers as decimal strings")
        self._registered(version=version, details=details)

    @event("ModelRegistered")
    def _registered(self, version: str, details: dict[str, Any]) -> None:
        self.models[version] = details

    def promote(self, version: str, reason: str) -> None:
        if version not in self.models:
            raise RegistryError(f"model {version} is not registered")
        if version == self.promoted:
            raise RegistryError(f"model {version} is already promoted")
        self._promoted(version=version, previous=self.promoted, reason=reason)

    @event("ModelPromoted")
    def _promoted(self, version: str, previous: str | None, reason: str) -> None:
        self.promoted = version
        self.history.append(version)
        if self.challenger == version:  # a promoted challenger is no longer in shadow
            self.challenger = None

    def rollback(self, reason: str) -> None:
        """Go back to the model promoted before the current one (or to none: rules only)."""
        if self.promoted is None:
            raise RegistryError("no model is promoted; nothing to roll back")
        target = self.history[-2] if len(self.history) >= 2 else None
        self._rolled_back(version=target, previous=self.promoted, reason=reason)

    @event("ModelRolledBack")
    def _rolled_back(self, version: str | None, previous: str, reason: str) -> None:
        self.history.pop()
        self.promoted = version

    def shadow(self, version: str, reason: str) -> None:
        """Score ``version`` in shadow beside the promoted model, from now on."""
        if version not in self.models:
            raise RegistryError(f"model {version} is not registered")
        if version == self.challenger:
            raise RegistryError(f"model {version} is already the challenger")
        if version == self.promoted:
            raise RegistryError(f"model {version} is the promoted model, not a challenger")
        self._challenger_set(version=version, previous=self.challenger, reason=reason)

    @event("ChallengerSet")
    def _challenger_set(self, version: str, previous: str | None, reason: str) -> None:
        self.challenger = version

    def stop_shadow(self, reason: str) -> None:
        """Stop scoring the challenger."""
        if self.challenger is None:
            raise RegistryError("no challenger is scored in shadow")
        self._challenger_stopped(version=self.challenger, reason=reason)

    @event("ChallengerStopped")
    def _challenger_stopped(self, version: str, reason: str) -> None:
        self.challenger = None


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_float(item) for item in value)
    return False
