"""The reference distribution a model is monitored against, stored in its metadata.

At training time (:mod:`adapters.fraud.training`) the training data's values of every
feature, and the scores of the validation fifth (out of sample: the model validated on it
had not seen it), are cut into quantile bins (:func:`domain.fraud.drift.reference_bins`);
``meta.json`` keeps them under ``reference``. ``ledger fraud monitor`` compares the recorded
screenings of a recent window with them. For a model trained before this existed,
:func:`reference_from_data` computes the same from a data set (``--reference DIR``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adapters.fraud.dataset import build_dataset
from domain.fraud.drift import Bins, reference_bins
from domain.fraud.features import FEATURES


def reference_distribution(
    x: np.ndarray, names: Sequence[str], scores: Sequence[float]
) -> dict[str, Any]:
    """Quantile bins of each column of ``x`` (named ``names``) and of ``scores``."""
    return {
        "rows": int(x.shape[0]),
        "features": {
            name: reference_bins([float(v) for v in x[:, i]]).as_json()
            for i, name in enumerate(names)
        },
        "score": reference_bins([float(s) for s in scores]).as_json(),
    }


def reference_from_data(data: Path, model: Any) -> tuple[dict[str, Bins], Bins]:
    """The reference of ``model`` (a :class:`~adapters.fraud.scoring.LightGBMModel`)
    computed from a data set written by ``ledger fraud simulate``."""
    dataset = build_dataset(data)
    names = list(model.features)
    columns = [FEATURES.index(name) for name in names]
    x = dataset.x[:, columns]
    scores = model.score_many(x.tolist())
    stored = reference_distribution(x, names, scores)
    features = {name: Bins.from_json(bins) for name, bins in stored["features"].items()}
    return features, Bins.from_json(stored["score"])
