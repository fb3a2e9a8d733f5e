"""``ledger fraud holdout``: held-out-typology and cross-profile evaluation of the model recipe.

::

    ledger fraud holdout --train DIR --eval DIR [--other DIR] [--typology T ...] [--out DIR]

For each typology T (default: every one in the training set) a model is trained without
T's payments and scored on the evaluation set's legitimate outgoing payments plus T's; a
model trained on all of ``--train`` is scored on ``--eval`` and on ``--other`` (a data set
of another simulator profile, ``ledger fraud simulate --profile alt``). Prints the table
(ROC AUC, PR AUC, recall at 1 % FPR, shares held at the review threshold) and writes
``holdout.json`` and ``holdout.md`` into ``--out``. Nothing is stored or registered.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from api.cli.common import EXIT_FAILED, EXIT_OK
from api.runtime.settings import Settings


def add_parser(sub: Any) -> None:
    holdout = sub.add_parser(
        "holdout", help="train without each typology and evaluate on it; across profiles"
    )
    holdout.add_argument("--train", type=Path, required=True, help="directory from simulate")
    holdout.add_argument(
        "--eval", type=Path, required=True, help="directory from simulate (another seed)"
    )
    holdout.add_argument(
        "--other", type=Path, help="directory from simulate with another --profile"
    )
    holdout.add_argument(
        "--typology", action="append", help="hold out only this typology (repeatable)"
    )
    holdout.add_argument("--out", type=Path, help="report directory (default EVAL/holdout)")
    holdout.add_argument("--rounds", type=int, default=300, help="maximum boosting rounds (300)")
    holdout.add_argument(
        "--review", type=float, help="REVIEW threshold (default LEDGER_FRAUD_REVIEW_SCORE)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.fraud import holdout  # LightGBM, NumPy, scikit-learn: loaded on use

    for data in (args.train, args.eval, args.other):
        if data is not None and not (data / "payments.jsonl").exists():
            print(f"ledger: {data}: no payments.jsonl (make one with `ledger fraud simulate`)")
            return EXIT_FAILED
    review = args.review if args.review is not None else float(settings.fraud.review_score)
    try:
        report = holdout.holdout(
            args.train,
            args.eval,
            other=args.other,
            typologies=args.typology,
            review=review,
            rounds=args.rounds,
        )
    except ValueError as error:
        print(f"ledger: {error}")
        return EXIT_FAILED
    out = args.out or args.eval / "holdout"
    holdout.write(report, out)
    print(holdout.table(report))
    print(f"report: {out / 'holdout.json'}")
    return EXIT_OK
