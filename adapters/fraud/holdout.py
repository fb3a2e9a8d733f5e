"""Held-out evaluation: does the model find fraud it was never shown?

For each typology T, a model is trained on the training set without T's payments and
scored on the evaluation set's legitimate outgoing payments plus T's payments; a model
trained on everything is also scored on a data set of another simulator profile (other
segments, countries, amounts, hours, typology parameters). Only outgoing payments are
trained on and scored (an incoming credit is never acted on); the features still see the
whole stream, incoming credits included, as they do online. Each run reports ROC AUC,
PR AUC, recall at 1 % FPR and the share of payments held at the review threshold; the
model trained on everything also reports the share of legitimate outgoing payments held,
per kind (standing orders and payroll to payees paid before, bulk files, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from adapters.fraud.dataset import Dataset, build_dataset, read_records
from adapters.fraud.quality import quality
from adapters.fraud.training import EARLY_STOPPING, PARAMS, ROUNDS
from domain.fraud.features import FEATURES

RECURRING = ("standing_order", "payroll")


@dataclass
class Labelled:
    """A data set with what the simulator says of each payment."""

    data: Dataset
    direction: np.ndarray
    kind: np.ndarray
    typology: np.ndarray
    profile: str

    @staticmethod
    def load(path: Path) -> Labelled:
        records = read_records(path)
        summary = path / "summary.json"
        profile = json.loads(summary.read_text())["profile"] if summary.exists() else "?"
        return Labelled(
            data=build_dataset(path),
            direction=np.asarray([r.get("direction", "outgoing") for r in records]),
            kind=np.asarray([r.get("kind", "") for r in records]),
            typology=np.asarray([str(r.get("typology", "")) for r in records]),
            profile=str(profile),
        )

    @property
    def outgoing(self) -> np.ndarray:
        return self.direction == "outgoing"


# One thread: a dozen trainings in a row on a shared machine; OpenMP threads waiting on each
# other under load made a run many times slower.
HOLDOUT_PARAMS = {**PARAMS, "num_threads": 1}


def fit(x: np.ndarray, y: np.ndarray, rounds: int = ROUNDS) -> lgb.Booster:
    """The production training recipe (:data:`adapters.fraud.training.PARAMS`): rounds
    chosen on the last fifth, then refit on everything."""
    names = list(FEATURES)
    cut = int(len(y) * 0.8)
    train_set = lgb.Dataset(x[:cut], y[:cut], feature_name=names)
    valid = lgb.Dataset(x[cut:], y[cut:], reference=train_set)
    booster = lgb.train(
        HOLDOUT_PARAMS,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )
    best = booster.best_iteration or rounds
    return lgb.train(HOLDOUT_PARAMS, lgb.Dataset(x, y, feature_name=names), best)


def _run(
    name: str, booster: lgb.Booster, on: Labelled, mask: np.ndarray, review: float
) -> dict[str, Any]:
    y = on.data.y[mask]
    scores = np.asarray(booster.predict(on.data.x[mask]))
    held = scores >= review
    return {
        "run": name,
        "evaluated_on": on.profile,
        "fraud": int(y.sum()),
        "legit": int((y == 0).sum()),
        **quality(y, scores),
        "fraud_held": round(float(held[y == 1].mean()), 4) if y.any() else None,
        "legit_held": round(float(held[y == 0].mean()), 4),
    }


def legit_held(booster: lgb.Booster, on: Labelled, review: float) -> dict[str, Any]:
    """Shares of legitimate outgoing payments held at ``review``, in all and per kind;
    ``recurring_to_known_payees``: standing orders and payroll to a payee paid before."""
    legit = on.outgoing & (on.data.y == 0)
    held = np.asarray(booster.predict(on.data.x)) >= review
    first = on.data.x[:, FEATURES.index("first_to_creditor")] == 1
    recurring = legit & np.isin(on.kind, RECURRING)
    groups = {"all": legit, "recurring_to_known_payees": recurring & ~first, "recurring": recurring}
    groups |= {f"kind {k}": legit & (on.kind == k) for k in sorted(set(on.kind[legit].tolist()))}
    return {
        name: {"payments": int(m.sum()), "held": round(float(held[m].mean()), 4) if m.any() else 0}
        for name, m in groups.items()
    }


def holdout(
    train_dir: Path,
    eval_dir: Path,
    *,
    other: Path | None = None,
    typologies: list[str] | None = None,
    review: float = 0.5,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """Every held-out run (see the module's docstring) as a report."""
    train, evaluation = Labelled.load(train_dir), Labelled.load(eval_dir)
    known = sorted(set(train.typology[train.data.y == 1].tolist()))
    chosen = typologies or known
    unknown = sorted(set(chosen) - set(known) - set(evaluation.typology.tolist()))
    if unknown:
        raise ValueError(f"typology: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    runs = []
    legit_eval = evaluation.outgoing & (evaluation.data.y == 0)
    for typology in chosen:
        keep = train.outgoing & (train.typology != typology)
        booster = fit(train.data.x[keep], train.data.y[keep], rounds)
        mask = legit_eval | (evaluation.outgoing & (evaluation.typology == typology))
        runs.append(_run(f"without {typology}", booster, evaluation, mask, review))
    full = fit(train.data.x[train.outgoing], train.data.y[train.outgoing], rounds)
    runs.append(_run("all typologies", full, evaluation, evaluation.outgoing, review))
    report: dict[str, Any] = {
        "train": {"source": str(train_dir), "profile": train.profile, "rows": train.data.rows},
        "eval": {"source": str(eval_dir), "profile": evaluation.profile},
        "review": review,
        "runs": runs,
        "legit_held_at_review": {evaluation.profile: legit_held(full, evaluation, review)},
    }
    if other is not None:
        alt = Labelled.load(other)
        runs.append(
            _run(f"profile {train.profile} -> {alt.profile}", full, alt, alt.outgoing, review)
        )
        report["legit_held_at_review"][alt.profile] = legit_held(full, alt, review)
        report["other"] = {"source": str(other), "profile": alt.profile}
    return report


def table(report: dict[str, Any]) -> str:
    """The runs and the legitimate payments held, as Markdown tables."""
    review = report["review"]
    lines = [
        f"| held-out run | eval profile | fraud | ROC AUC | PR AUC | recall @ 1% FPR "
        f"| fraud held @ {review} | legit held @ {review} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        lines.append(
            f"| {run['run']} | {run['evaluated_on']} | {run['fraud']} | {run['roc_auc']} "
            f"| {run['pr_auc']} | {run['recall_at_1pct_fpr']} | {run['fraud_held']} "
            f"| {run['legit_held']} |"
        )
    for profile, groups in report["legit_held_at_review"].items():
        lines += ["", f"| legitimate outgoing ({profile}) | payments | held @ {review} |"]
        lines.append("|---|---|---|")
        for name, group in groups.items():
            lines.append(f"| {name} | {group['payments']} | {group['held']} |")
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "holdout.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "holdout.md").write_text(table(report), encoding="utf-8")
