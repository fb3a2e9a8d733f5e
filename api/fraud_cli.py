"""``ledger fraud ...``: simulate labelled payments, train, evaluate, list and promote models.

::

    ledger fraud simulate --seed N --out DIR [--customers N] [--days N]
    ledger fraud train --data DIR
    ledger fraud evaluate --data DIR [--model VERSION] [--out DIR]

Model artifacts live under ``<LEDGER_DATA_DIR>/models/<sha256>/``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from api.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1


def add_parser(commands: Any) -> None:
    fraud = commands.add_parser(
        "fraud",
        help="fraud model: simulate, train, evaluate, models, promote, rollback",
        description="Simulated labelled payments, LightGBM training and evaluation, and the "
        "model registry (promote/rollback are audited events).",
    )
    sub = fraud.add_subparsers(dest="fraud_command", required=True)
    simulate = sub.add_parser("simulate", help="write labelled simulated payments to DIR")
    simulate.add_argument("--seed", type=int, required=True, help="random seed")
    simulate.add_argument("--out", type=Path, required=True, help="output directory")
    simulate.add_argument("--customers", type=int, default=600, help="customers (600)")
    simulate.add_argument("--days", type=int, default=28, help="days of payments (28)")
    train = sub.add_parser("train", help="train a LightGBM model on simulated or labelled data")
    train.add_argument("--data", type=Path, required=True, help="directory from simulate")
    train.add_argument("--rounds", type=int, default=400, help="maximum boosting rounds (400)")
    evaluate = sub.add_parser("evaluate", help="evaluate a model on data of another seed")
    evaluate.add_argument("--data", type=Path, required=True, help="directory from simulate")
    evaluate.add_argument("--model", help="model version or prefix (default: the newest)")
    evaluate.add_argument("--out", type=Path, help="report directory (default DATA/evaluation)")
    evaluate.add_argument("--review", type=float, help="REVIEW score threshold")
    evaluate.add_argument("--decline", type=float, help="DECLINE score threshold")


def model_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def cmd_fraud(args: argparse.Namespace, settings: Settings) -> int:
    handlers = {
        "simulate": _simulate,
        "train": _train,
        "evaluate": _evaluate,
    }
    return handlers[args.fraud_command](args, settings)


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.fraud.simulator import simulate

    summary = simulate(args.seed, args.out, customers=args.customers, days=args.days)
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.fraud.artifacts import ArtifactStore
    from adapters.fraud.training import train

    artifact = train(args.data, ArtifactStore(model_dir(settings)), rounds=args.rounds)
    print(f"trained model {artifact.version}")
    print(f"  artifact: {model_dir(settings) / artifact.version}")
    print(f"  data: {json.dumps(artifact.meta['data'])}")
    print(f"  validation: {json.dumps(artifact.meta['metrics'])}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.fraud.artifacts import ArtifactStore
    from adapters.fraud.training import evaluate, table

    store = ArtifactStore(model_dir(settings))
    if args.model:
        version = store.resolve(args.model)
    else:
        metas = store.metas()
        if not metas:
            print("ledger: no trained model; run `ledger fraud train` first")
            return EXIT_FAILED
        version = str(metas[-1]["version"])
    out = args.out or args.data / "evaluation"
    review = args.review if args.review is not None else 0.5
    decline = args.decline if args.decline is not None else 0.9
    report = evaluate(args.data, store.load(version), out, review=review, decline=decline)
    print(table(report))
    print(f"report: {out / 'evaluation.json'}")
    print(f"curves: {report['plots']['roc']}  {report['plots']['pr']}")
    return EXIT_OK
