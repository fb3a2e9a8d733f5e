"""Ranking quality of fraud scores: ROC AUC, PR AUC and recall at a false-positive rate."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (  # type: ignore[import-untyped]
    average_precision_score,
    roc_auc_score,
    roc_curve,
)


def recall_at_fpr(y: np.ndarray, scores: np.ndarray, max_fpr: float = 0.01) -> float:
    fpr, tpr, _ = roc_curve(y, scores)
    return float(tpr[fpr <= max_fpr].max(initial=0.0))


def quality(y: np.ndarray, scores: np.ndarray) -> dict[str, float | None]:
    if len(set(y.tolist())) < 2:
        return {"roc_auc": None, "pr_auc": None, "recall_at_1pct_fpr": None}
    return {
        "roc_auc": round(float(roc_auc_score(y, scores)), 4),
        "pr_auc": round(float(average_precision_score(y, scores)), 4),
        "recall_at_1pct_fpr": round(recall_at_fpr(y, scores), 4),
    }
