"""The shadow challenger: registry events, and a challenger that can never change a payment.

:class:`ShadowScoring` answers what the challenger would have decided, or why it could not;
whatever the challenger does (fails to load, needs a feature the screening lacks, raises
while scoring), it raises nothing into the screening.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from application.fraud.screening import ScoreThresholds
from application.fraud.shadow import ShadowScoring
from domain.fraud.registry import ModelRegistry, RegistryError
from domain.ledger.transactions import ScreeningOutcome

VALUES = {"a": 1.0, "b": 2.0, "c": 3.0}


class Model:
    """A stand-in model: its probability is the first feature it asks for, over ten."""

    def __init__(self, version: str, features: tuple[str, ...], fail: bool = False) -> None:
        self.version = version
        self.features = features
        self.fail = fail
        self.rows: list[list[float]] = []

    def explain(self, values: Sequence[float]) -> tuple[float, list[float]]:
        if self.fail:
            raise RuntimeError("booster exploded")
        self.rows.append(list(values))
        return values[0] / 10, [0.0] * len(values)


class Loader:
    def __init__(self, models: dict[str, Model]) -> None:
        self.models = models

    def load(self, version: str) -> Model:
        if version not in self.models:
            raise FileNotFoundError(f"no artifact {version}")
        return self.models[version]


def shadow(challenger: str | None, models: dict[str, Model]) -> ShadowScoring:
    thresholds = ScoreThresholds(Decimal("0.25"), Decimal("0.9"))
    return ShadowScoring(lambda: challenger, Loader(models), thresholds.outcome)


def test_no_challenger_records_nothing():
    assert shadow(None, {}).decide(VALUES, ScreeningOutcome.APPROVE, True) is None


def test_features_are_taken_by_name_in_the_challengers_order():
    model = Model("v2", ("c", "a"))
    decided = shadow("v2", {"v2": model}).decide(VALUES, ScreeningOutcome.APPROVE, True)
    assert model.rows == [[3.0, 1.0]]
    assert decided == {"version": "v2", "score": "0.300000", "outcome": "REVIEW"}


def test_the_rules_outcome_stands_for_incoming_payments_and_when_more_severe():
    scoring = shadow("v2", {"v2": Model("v2", ("c",))})
    assert scoring.decide(VALUES, ScreeningOutcome.APPROVE, False)["outcome"] == "APPROVE"
    assert scoring.decide(VALUES, ScreeningOutcome.DECLINE, True)["outcome"] == "DECLINE"


@pytest.mark.parametrize(
    ("models", "error"),
    [
        ({}, "FileNotFoundError: no artifact v2"),
        ({"v2": Model("v2", ("a", "zz"))}, "missing features: zz"),
        ({"v2": Model("v2", ("a",), fail=True)}, "RuntimeError: booster exploded"),
    ],
)
def test_a_failing_challenger_is_recorded_and_never_raises(models, error):
    decided = shadow("v2", models).decide(VALUES, ScreeningOutcome.APPROVE, True)
    assert decided == {"version": "v2", "error": error}


def test_an_unreadable_registry_keeps_the_screening_going():
    def broken() -> str | None:
        raise ConnectionError("database down")

    scoring = ShadowScoring(broken, Loader({}), ScoreThresholds().outcome)
    assert scoring.decide(VALUES, ScreeningOutcome.APPROVE, True) is None


def test_the_registry_records_setting_and_stopping_a_challenger():
    registry = ModelRegistry()
    registry.register("v1", {})
    registry.register("v2", {})
    registry.promote("v1", "first")
    with pytest.raises(RegistryError, match="promoted model"):
        registry.shadow("v1", "itself")
    with pytest.raises(RegistryError, match="not registered"):
        registry.shadow("v3", "unknown")
    registry.shadow("v2", "compare before promotion")
    assert registry.challenger == "v2"
    with pytest.raises(RegistryError, match="already the challenger"):
        registry.shadow("v2", "again")
    registry.stop_shadow("enough")
    assert registry.challenger is None
    with pytest.raises(RegistryError, match="no challenger"):
        registry.stop_shadow("again")
    registry.shadow("v2", "once more")
    registry.promote("v2", "it won")  # a promoted challenger leaves the shadow
    assert (registry.promoted, registry.challenger) == ("v2", None)
    kinds = [type(e).__name__ for e in registry.collect_events()]
    assert kinds.count("ChallengerSet") == 2 and kinds.count("ChallengerStopped") == 1
