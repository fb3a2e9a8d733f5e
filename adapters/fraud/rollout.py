"""Safe rollout of a fraud model: the champion/challenger comparison and capacity thresholds.

:func:`compare` reads the recorded screenings that a challenger scored in shadow
(``rm_fraud_scores``: the promoted decision beside the one the challenger would have taken)
and reports agreement, how many payments each would hold for review or decline and, where
labels exist (the analysts' verdicts; customer claims once recorded), precision and recall
of each. Labels come mostly from the cases the *promoted* model opened, so the challenger's
figures on them are a lower bound of what it catches and say nothing of payments nobody
reviewed: the report says how many were labelled.

:func:`thresholds` answers which review threshold gives the analysts about as many cases a
day as they can work (:func:`domain.fraud.drift.capacity_threshold`), next to what the
score-based threshold gives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from domain.fraud.drift import capacity_threshold
from projections.fraud.monitor import ScoredPayment

FLAGGED = {"REVIEW", "DECLINE"}


def compare(
    rows: Sequence[ScoredPayment], labels: Mapping[str, int], version: str | None = None
) -> dict[str, Any]:
    """Promoted against challenger over the rows a challenger (``version``, or any) scored."""
    shadowed = [
        r
        for r in rows
        if r.challenger_version is not None and (version is None or r.challenger_version == version)
    ]
    scored = [r for r in shadowed if r.challenger_outcome is not None]
    agree = sum(1 for r in scored if r.outcome == r.challenger_outcome)
    pairs = Counter(f"{r.outcome}->{r.challenger_outcome}" for r in scored)
    labelled = [r for r in scored if r.transaction_id in labels]
    return {
        "challengers": sorted({str(r.challenger_version) for r in shadowed}),
        "screenings": len(shadowed),
        "challenger_errors": len(shadowed) - len(scored),
        "compared": len(scored),
        "agreement": round(agree / len(scored), 4) if scored else None,
        "outcomes": {
            "promoted": _counts(r.outcome for r in scored),
            "challenger": _counts(str(r.challenger_outcome) for r in scored),
        },
        "changes": dict(sorted(pairs.items())),
        "labelled": len(labelled),
        "labelled_fraud": sum(labels[r.transaction_id] for r in labelled),
        "promoted": _quality([(r.outcome, labels[r.transaction_id]) for r in labelled]),
        "challenger": _quality(
            [(str(r.challenger_outcome), labels[r.transaction_id]) for r in labelled]
        ),
    }


def _counts(outcomes: Any) -> dict[str, int]:
    counts = Counter(outcomes)
    return {key: counts.get(key, 0) for key in ("APPROVE", "REVIEW", "DECLINE")}


def _quality(decided: Sequence[tuple[str, int]]) -> dict[str, float | int | None]:
    tp = sum(1 for outcome, label in decided if outcome in FLAGGED and label == 1)
    fp = sum(1 for outcome, label in decided if outcome in FLAGGED and label == 0)
    fn = sum(1 for outcome, label in decided if outcome not in FLAGGED and label == 1)
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
    }


def render_comparison(report: dict[str, Any]) -> str:
    if not report["screenings"]:
        return "no screening was scored by a challenger in this window"
    out = report["outcomes"]
    lines = [
        f"challenger {', '.join(v[:12] for v in report['challengers'])}: "
        f"{report['screenings']} screenings, {report['challenger_errors']} not scored "
        f"(challenger unavailable), agreement {report['agreement']}",
        f"{'':12}{'APPROVE':>10}{'REVIEW':>10}{'DECLINE':>10}{'precision':>11}{'recall':>8}",
    ]
    for side in ("promoted", "challenger"):
        quality = report[side]
        lines.append(
            f"{side:12}"
            + "".join(f"{out[side][k]:>10}" for k in ("APPROVE", "REVIEW", "DECLINE"))
            + f"{_opt(quality['precision']):>11}{_opt(quality['recall']):>8}"
        )
    lines.append(
        f"labelled: {report['labelled']} ({report['labelled_fraud']} fraud; analyst verdicts "
        "cover the payments someone reviewed, mostly the promoted model's cases)"
    )
    if report["changes"]:
        lines.append(
            "promoted->challenger: "
            + ", ".join(f"{k} {v}" for k, v in report["changes"].items() if "->" in k)
        )
    return "\n".join(lines)


def _opt(value: Any) -> str:
    return "-" if value is None else str(value)


def thresholds(
    scores: Sequence[Decimal], days: float, cases_per_day: float, review: Decimal
) -> dict[str, Any]:
    """The capacity threshold for ``cases_per_day`` beside the score threshold ``review``."""
    chosen = capacity_threshold(scores, days, cases_per_day)
    at_review = sum(1 for score in scores if score >= review)
    return {
        "scores": len(scores),
        "days": round(days, 3),
        "cases_per_day": cases_per_day,
        "capacity_threshold": format(chosen.threshold, "f"),
        "capacity_cases_per_day": chosen.cases_per_day,
        "review_score": format(review, "f"),
        "review_cases_per_day": round(at_review / days, 3),
    }


def render_thresholds(report: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{report['scores']} scores over {report['days']} days",
            f"{'threshold':30}{'score':>10}{'cases/day':>12}",
            f"{'score-based (review score)':30}{report['review_score']:>10}"
            f"{report['review_cases_per_day']:>12}",
            f"{'capacity ' + str(report['cases_per_day']) + '/day':30}"
            f"{report['capacity_threshold']:>10}{report['capacity_cases_per_day']:>12}",
        ]
    )
