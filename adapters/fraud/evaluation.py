"""Evaluation of a fraud model on a labelled data set against a rules-only baseline."""

from __future__ import annotations

import json
import platform
from decimal import Decimal
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.metrics import (  # type: ignore[import-untyped]
    average_precision_score,
    roc_auc_score,
    roc_curve,
)

from adapters.fraud.artifacts import Artifact
from adapters.fraud.dataset import build_dataset
from adapters.fraud.quality import quality
from domain.fraud.features import FEATURES

# The production amount limits (docs/configuration.md defaults): review above 10,000.
PRODUCTION_REVIEW_ABOVE = Decimal(10000)


def rules_score(row: np.ndarray, amount: Decimal) -> float:
    """A rules-only fraud score: how many classic expert rules a payment hits."""
    f = dict(zip(FEATURES, row, strict=True))
    hits = [
        amount > PRODUCTION_REVIEW_ABOVE,
        f["first_to_creditor"] == 1 and amount >= 1000,
        f["new_device"] == 1 and f["hour"] < 6,
        f["debtor_tx_1h"] >= 5,
        f["near_threshold"] == 1,
        f["cross_border"] == 1 and f["first_to_creditor"] == 1 and amount >= 1000,
    ]
    return float(sum(hits))


def confusion(y: np.ndarray, flagged: np.ndarray) -> dict[str, int]:
    return {
        "tp": int(((flagged == 1) & (y == 1)).sum()),
        "fp": int(((flagged == 1) & (y == 0)).sum()),
        "fn": int(((flagged == 0) & (y == 1)).sum()),
        "tn": int(((flagged == 0) & (y == 0)).sum()),
    }


def evaluate(
    data: Path,
    artifact: Artifact,
    out: Path,
    *,
    review: float,
    decline: float,
) -> dict[str, Any]:
    """Score ``data`` with the model and the rules baseline; write tables and curves."""
    dataset = build_dataset(data)
    booster = lgb.Booster(model_str=artifact.model_text)
    scores = np.asarray(booster.predict(dataset.x))
    rules = np.asarray([rules_score(r, a) for r, a in zip(dataset.x, dataset.amounts, strict=True)])
    limits = np.asarray([float(a > PRODUCTION_REVIEW_ABOVE) for a in dataset.amounts])
    y = dataset.y
    report: dict[str, Any] = {
        "model_version": artifact.version,
        "trained_on": artifact.meta.get("data", {}),
        "evaluated_on": {"source": dataset.source, "rows": dataset.rows, "positives": int(y.sum())},
        "model": quality(y, scores),
        "rules_baseline": quality(y, rules),
        "amount_limits_only": quality(y, limits),
        "thresholds": {"review": review, "decline": decline},
        "confusion": {
            f"model score >= {review} (REVIEW or DECLINE)": confusion(y, scores >= review),
            f"model score >= {decline} (DECLINE)": confusion(y, scores >= decline),
            "rules baseline >= 1 hit": confusion(y, rules >= 1),
            "amount limits (review > 10000)": confusion(y, limits >= 1),
        },
        "recall_by_typology": {},
        "machine": f"{platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()}",
    }
    typologies = np.asarray(dataset.typologies)
    for typology in sorted(set(dataset.typologies) - {"legit"}):
        mask = typologies == typology
        report["recall_by_typology"][typology] = {
            "payments": int(mask.sum()),
            "model_at_review": round(float((scores[mask] >= review).mean()), 3),
            "rules_baseline": round(float((rules[mask] >= 1).mean()), 3),
        }
    out.mkdir(parents=True, exist_ok=True)
    report["plots"] = _plots(y, scores, rules, out)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "evaluation.md").write_text(table(report), encoding="utf-8")
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        "| scorer | ROC AUC | PR AUC | recall at 1% FPR |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("model", f"LightGBM {report['model_version'][:12]}"),
        ("rules_baseline", "rules-only baseline (6 expert rules)"),
        ("amount_limits_only", "amount limits only (today's screening)"),
    ):
        m = report[key]
        lines.append(f"| {label} | {m['roc_auc']} | {m['pr_auc']} | {m['recall_at_1pct_fpr']} |")
    lines += ["", "| confusion at | TP | FP | FN | TN |", "|---|---|---|---|---|"]
    for name, c in report["confusion"].items():
        lines.append(f"| {name} | {c['tp']} | {c['fp']} | {c['fn']} | {c['tn']} |")
    lines += [
        "",
        "| typology | payments | model recall (REVIEW) | rules recall |",
        "|---|---|---|---|",
    ]
    for name, t in report["recall_by_typology"].items():
        lines.append(
            f"| {name} | {t['payments']} | {t['model_at_review']} | {t['rules_baseline']} |"
        )
    return "\n".join(lines) + "\n"


def _plots(y: np.ndarray, scores: np.ndarray, rules: np.ndarray, out: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve  # type: ignore[import-untyped]

    paths = {"roc": str(out / "roc.png"), "pr": str(out / "pr.png")}
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, values in (("LightGBM", scores), ("rules baseline", rules)):
        fpr, tpr, _ = roc_curve(y, values)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, values):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.axvline(0.01, linestyle="--", color="red", linewidth=0.8, label="1% FPR")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate (recall)")
    ax.set_title("ROC, held-out seed")
    ax.legend(loc="lower right")
    fig.savefig(paths["roc"], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, values in (("LightGBM", scores), ("rules baseline", rules)):
        precision, recall, _ = precision_recall_curve(y, values)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(y, values):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall, held-out seed")
    ax.legend(loc="lower left")
    fig.savefig(paths["pr"], dpi=100)
    plt.close(fig)
    return paths
