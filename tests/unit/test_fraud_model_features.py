"""A promoted model is loaded if it names only features the ledger computes (in any order,
fewer than all: an older model); one naming another feature is refused."""

from __future__ import annotations

from collections.abc import Sequence

from application.fraud.screening import ModelSelector
from domain.fraud.features import FEATURES


class Model:
    def __init__(self, features: tuple[str, ...]) -> None:
        self.features = features
        self.version = "v"

    def explain(self, values: Sequence[float]) -> tuple[float, list[float]]:
        return 0.5, [0.0] * len(values)


class Loader:
    def __init__(self, model: Model) -> None:
        self.model = model

    def load(self, version: str) -> Model:
        return self.model


def test_a_model_with_fewer_features_in_its_own_order_loads():
    model = Model(tuple(reversed(FEATURES[:20])))
    selector = ModelSelector(lambda: "v", Loader(model))
    assert selector.current() is model and selector.failed is None


def test_a_model_naming_a_feature_not_computed_is_refused():
    selector = ModelSelector(lambda: "v", Loader(Model((*FEATURES[:5], "shoe_size"))))
    assert selector.current() is None
    assert selector.failed is not None and "shoe_size" in selector.failed
