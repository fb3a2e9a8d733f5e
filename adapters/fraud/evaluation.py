"""Evaluation of a fraud model on a labelled data set against a rules-only baseline.

Only outgoing payments are scored, in time order, optionally after a warm history
(:mod:`adapters.fraud.evaluation_data`). The curves show the operating points the ledger
would use: the REVIEW and DECLINE thresholds, on a ROC curve whose false-positive axis is
logarithmic (a bank works at 0.1-1 % FPR, which a linear axis squeezes into its edge).
"""

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
from adapters.fraud.evaluation_data import evaluation_set
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
    warm: Path | None = None,
) -> dict[str, Any]:
    """Score the outgoing payments of ``data`` (after replaying ``warm``, not scored) with
    the model and the rules baseline; write tables and curves."""
    chosen = evaluation_set(data, warm)
    dataset = chosen.dataset
    if len(set(dataset.y.tolist())) < 2:
        raise ValueError(
            f"{data}: the {dataset.rows} outgoing payments need both fraud and legitimate ones"
        )
    booster = lgb.Booster(model_str=artifact.model_text)
    scores = np.asarray(booster.predict(dataset.columns(booster.feature_name())))
    rules = np.asarray([rules_score(r, a) for r, a in zip(dataset.x, dataset.amounts, strict=True)])
    limits = np.asarray([float(a > PRODUCTION_REVIEW_ABOVE) for a in dataset.amounts])
    y = dataset.y
    report: dict[str, Any] = {
        "model_version": artifact.version,
        "trained_on": artifact.meta.get("data", {}),
        "evaluated_on": {
            "source": dataset.source,
            "rows": dataset.rows,
            "positives": int(y.sum()),
            "incoming_skipped": chosen.incoming_skipped,
            "outgoing_by": chosen.ours_from,
            "warm": {"source": chosen.warm_source, "payments": chosen.warm_payments},
        },
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
    report["operating_points"] = {
        name: operating_point(y, scores, threshold)
        for name, threshold in (("review", review), ("decline", decline))
    }
    title = Path(dataset.source).name or dataset.source
    report["plots"] = _plots(y, scores, rules, out, report["operating_points"], title)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "evaluation.md").write_text(table(report), encoding="utf-8")
    return report


def table(report: dict[str, Any]) -> str:
    on = report["evaluated_on"]
    warm = on["warm"]
    lines = [
        f"{on['rows']} outgoing payments of {on['source']} ({on['positives']} fraud), "
        f"{on['incoming_skipped']} incoming skipped (told by {on['outgoing_by']}); "
        + (
            f"warmed with {warm['payments']} payments of {warm['source']}"
            if warm["source"]
            else "no warm history"
        ),
        "",
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


def operating_point(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Where a threshold puts the model: its FPR, recall and precision (score >= threshold)."""
    flagged = scores >= threshold
    c = confusion(y, flagged)
    negatives, positives = c["fp"] + c["tn"], c["tp"] + c["fn"]
    return {
        "threshold": threshold,
        "fpr": round(c["fp"] / negatives, 6) if negatives else 0.0,
        "recall": round(c["tp"] / positives, 6) if positives else 0.0,
        "precision": round(c["tp"] / (c["tp"] + c["fp"]), 6) if flagged.any() else 1.0,
    }


FPR_FLOOR = 1e-4
"""The left end of the ROC plot's log axis; an FPR of 0 is drawn there."""

MARKERS = {"review": ("o", "tab:purple"), "decline": ("s", "tab:red")}
COLOURS = {"LightGBM": "tab:blue", "rules baseline": "tab:green"}


def _plots(
    y: np.ndarray,
    scores: np.ndarray,
    rules: np.ndarray,
    out: Path,
    points: dict[str, dict[str, float]],
    title: str,
) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve  # type: ignore[import-untyped]

    paths = {"roc": str(out / "roc.png"), "pr": str(out / "pr.png")}
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for name, values in (("LightGBM", scores), ("rules baseline", rules)):
        fpr, tpr, _ = roc_curve(y, values)
        ax.plot(
            np.maximum(fpr, FPR_FLOOR),
            tpr,
            color=COLOURS[name],
            label=f"{name} (AUC {roc_auc_score(y, values):.3f})",
        )
    chance = np.logspace(np.log10(FPR_FLOOR), 0, 50)
    ax.plot(chance, chance, linestyle=":", color="grey", label="chance")
    ax.axvline(0.01, linestyle="--", color="grey", linewidth=0.8, label="1% FPR")
    for name, point in points.items():
        marker, colour = MARKERS[name]
        ax.plot(
            max(point["fpr"], FPR_FLOOR),
            point["recall"],
            marker=marker,
            color=colour,
            markersize=8,
            linestyle="none",
            label=f"{name} >= {point['threshold']:g}: FPR {point['fpr']:.2%}, "
            f"recall {point['recall']:.1%}",
        )
    ax.set_xscale("log")
    ax.set_xlim(FPR_FLOOR / 1.5, 1.1)  # room for a marker at the floor
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false-positive rate (log scale)")
    ax.set_ylabel("true-positive rate (recall)")
    ax.set_title(f"ROC, outgoing payments of {title}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(paths["roc"], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for name, values in (("LightGBM", scores), ("rules baseline", rules)):
        precision, recall, _ = precision_recall_curve(y, values)
        ax.plot(
            recall,
            precision,
            color=COLOURS[name],
            label=f"{name} (AP {average_precision_score(y, values):.3f})",
        )
    for name, point in points.items():
        marker, colour = MARKERS[name]
        ax.plot(
            point["recall"],
            point["precision"],
            marker=marker,
            color=colour,
            markersize=8,
            linestyle="none",
            label=f"{name} >= {point['threshold']:g}: precision {point['precision']:.1%}, "
            f"recall {point['recall']:.1%}",
        )
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Precision-recall, outgoing payments of {title}")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(paths["pr"], dpi=100)
    plt.close(fig)
    return paths
