"""LightGBM behind the :class:`~application.fraud.ports.FraudModel` port.

One ``Booster.predict(..., pred_contrib=True)`` on a one-row NumPy array gives every
feature's contribution in log-odds plus the bias; their sum is the raw score, and its
logistic is the probability. No DataFrame on this path (ten times slower per row).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import lightgbm as lgb
import numpy as np

from adapters.fraud.artifacts import Artifact


class LightGBMModel:
    def __init__(self, artifact: Artifact) -> None:
        self._version = artifact.version
        self.booster = lgb.Booster(model_str=artifact.model_text)
        self._features = tuple(self.booster.feature_name())

    @property
    def version(self) -> str:
        return self._version

    @property
    def features(self) -> tuple[str, ...]:
        return self._features

    def explain(self, values: Sequence[float]) -> tuple[float, list[float]]:
        row = np.asarray(values, dtype=np.float64).reshape(1, -1)
        contributions = np.asarray(self.booster.predict(row, pred_contrib=True, num_threads=1))[0]
        raw = float(contributions.sum())
        probability = 1.0 / (1.0 + math.exp(-raw))
        return probability, [float(c) for c in contributions[:-1]]

    def score_many(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """Probabilities of many payments at once (the batched path)."""
        matrix = np.asarray(rows, dtype=np.float64).reshape(-1, len(self._features))
        return [float(p) for p in self.booster.predict(matrix)]
