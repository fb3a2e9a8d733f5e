"""``ledger fraud ...``: simulate labelled payments, train, evaluate, list and promote models.

::

    ledger fraud simulate --seed N --out DIR [--customers N] [--days N] [--profile NAME]
    ledger fraud holdout --train DIR --eval DIR [--other DIR] [--typology T ...]
    ledger fraud train --data DIR | --from-store
    ledger fraud evaluate --data DIR [--model VERSION] [--out DIR]
    ledger fraud book --data DIR [--limit N]
    ledger fraud models
    ledger fraud promote VERSION --reason TEXT
    ledger fraud rollback --reason TEXT

Model artifacts live under ``<LEDGER_DATA_DIR>/models/<sha256>/``; ``train`` also registers
the model in the fraud context's model registry (an event). Promote and rollback are events
of the registry, attributed to the user running the command; scoring follows the promoted model.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.simulation import PROFILES, profile, simulate
from api.cli import fraud_holdout
from api.cli.common import EXIT_FAILED, EXIT_OK, cli_causation
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from api.seed.fraud_book import book
from application.fraud.features import ledger_feed
from domain.causation import caused_by


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
    simulate.add_argument(
        "--profile", choices=sorted(PROFILES), default="default", help="configuration (default)"
    )
    fraud_holdout.add_parser(sub)
    train = sub.add_parser("train", help="train a LightGBM model on simulated or labelled data")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="directory from simulate")
    source.add_argument(
        "--from-store",
        action="store_true",
        help="the ledger's own event log, labelled by the analysts' decided fraud cases",
    )
    train.add_argument("--rounds", type=int, default=300, help="maximum boosting rounds (300)")
    evaluate = sub.add_parser("evaluate", help="evaluate a model on data of another seed")
    evaluate.add_argument("--data", type=Path, required=True, help="directory from simulate")
    evaluate.add_argument("--model", help="model version or prefix (default: the newest)")
    evaluate.add_argument("--out", type=Path, help="report directory (default DATA/evaluation)")
    evaluate.add_argument(
        "--review", type=float, help="REVIEW threshold (default LEDGER_FRAUD_REVIEW_SCORE)"
    )
    evaluate.add_argument(
        "--decline", type=float, help="DECLINE threshold (default LEDGER_FRAUD_DECLINE_SCORE)"
    )
    booking = sub.add_parser(
        "book", help="book simulated payments through the ledger (screened, cases opened)"
    )
    booking.add_argument("--data", type=Path, required=True, help="directory from simulate")
    booking.add_argument("--limit", type=int, help="book at most this many payments")
    sub.add_parser("models", help="list model artifacts and the registry's state")
    promote = sub.add_parser("promote", help="make a registered model score payments")
    promote.add_argument("version", help="model version (or a unique prefix)")
    promote.add_argument("--reason", required=True, help="why (recorded in the event)")
    rollback = sub.add_parser("rollback", help="go back to the previously promoted model")
    rollback.add_argument("--reason", required=True, help="why (recorded in the event)")


def _training() -> ModuleType:
    """adapters.fraud.training, imported on use: it loads LightGBM, NumPy and scikit-learn
    (1-2 s), which no other `ledger` command needs."""
    from adapters.fraud import training

    return training


def _evaluation() -> ModuleType:
    """adapters.fraud.evaluation, imported on use (LightGBM, scikit-learn, matplotlib)."""
    from adapters.fraud import evaluation

    return evaluation


def _datasets() -> ModuleType:
    """adapters.fraud.dataset, imported on use (NumPy)."""
    from adapters.fraud import dataset

    return dataset


def model_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def cmd_fraud(args: argparse.Namespace, settings: Settings) -> int:
    handlers = {
        "simulate": _simulate,
        "train": _train,
        "evaluate": _evaluate,
        "book": _book,
        "models": _models,
        "promote": _promote,
        "rollback": _rollback,
        "holdout": fraud_holdout.run,
    }
    return handlers[args.fraud_command](args, settings)


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    summary = simulate(
        args.seed, args.out, customers=args.customers, days=args.days, profile=profile(args.profile)
    )
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def _train(args: argparse.Namespace, settings: Settings) -> int:
    data: Any = args.data
    if args.from_store:
        data = _store_dataset(settings)
    artifact = _training().train(data, ArtifactStore(model_dir(settings)), rounds=args.rounds)
    details = {k: artifact.meta[k] for k in ("features", "data", "metrics", "created_at")}
    with _fraud(settings) as fraud:
        fraud.register_model(artifact.version, details)
    print(f"trained and registered model {artifact.version}")
    print(f"  artifact: {model_dir(settings) / artifact.version}")
    print(f"  data: {json.dumps(artifact.meta['data'])}")
    print(f"  validation: {json.dumps(artifact.meta['metrics'])}")
    return EXIT_OK


def _store_dataset(settings: Settings) -> Any:
    container = bootstrap(settings)
    try:
        container.projector.catch_up()  # the case read model holds the analysts' labels
        labels = container.fraud_queries.labels()
        feed = ledger_feed(container.ledger)
        events: list[object] = []
        position = 0
        while True:
            page = feed(position, 5000)
            events.extend(event for _, event in page)
            if len(page) < 5000:
                break
            position = page[-1][0]
        return _datasets().dataset_from_log(events, labels, "ledger event log + analyst labels")
    finally:
        container.close()


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
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
    # The configured thresholds (LEDGER_FRAUD_REVIEW_SCORE / _DECLINE_SCORE) unless given.
    review = args.review if args.review is not None else float(settings.fraud.review_score)
    decline = args.decline if args.decline is not None else float(settings.fraud.decline_score)
    evaluation = _evaluation()
    artifact = store.load(version)
    report = evaluation.evaluate(args.data, artifact, out, review=review, decline=decline)
    print(evaluation.table(report))
    print(f"report: {out / 'evaluation.json'}")
    print(f"curves: {report['plots']['roc']}  {report['plots']['pr']}")
    return EXIT_OK


@contextmanager
def _fraud(settings: Settings) -> Iterator[Any]:
    """The fraud application, with the CLI user as the actor of every event."""
    container = bootstrap(settings)
    try:
        with caused_by(cli_causation()):
            yield container.fraud
    finally:
        container.close()


def _book(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        container.warm_up()
        outcome = book(container, args.data, args.limit)
        container.projector.catch_up()
    finally:
        container.close()
    statuses = ("POSTED", "HELD", "REJECTED")
    print(f"{'typology':18}" + "".join(f"{s:>10}" for s in statuses))
    for typology, counts in sorted(outcome.items()):
        print(f"{typology:18}" + "".join(f"{counts.get(s, 0):>10}" for s in statuses))
    return EXIT_OK


def _models(args: argparse.Namespace, settings: Settings) -> int:
    metas = ArtifactStore(model_dir(settings)).metas()
    with _fraud(settings) as fraud:
        registry = fraud.registry()
    if not metas and not registry.models:
        print("no models; train one with `ledger fraud train --data DIR`")
        return EXIT_OK
    print(f"{'':2}{'version':14}{'created':22}{'rows':>8}  {'validation':44}  registry")
    for meta in metas:
        version = str(meta["version"])
        marker = "* " if version == registry.promoted else "  "
        state = (
            "promoted"
            if version == registry.promoted
            else ("registered" if version in registry.models else "not registered")
        )
        validation = json.dumps(meta.get("metrics", {}).get("validation_last_fifth", {}))
        created = str(meta.get("created_at", ""))[:19]
        rows = meta.get("data", {}).get("rows", "")
        print(f"{marker}{version[:12]:14}{created:22}{rows:>8}  {validation[:44]:44}  {state}")
    missing = set(registry.models) - {str(m["version"]) for m in metas}
    for version in sorted(missing):
        print(f"  {version[:12]:14}(registered, artifact missing under {model_dir(settings)})")
    print(f"promoted: {registry.promoted or 'none (rules only)'}")
    return EXIT_OK


def _promote(args: argparse.Namespace, settings: Settings) -> int:
    version = ArtifactStore(model_dir(settings)).resolve(args.version)
    with _fraud(settings) as fraud:
        fraud.promote(version, args.reason)
    print(f"promoted {version}")
    return EXIT_OK


def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    with _fraud(settings) as fraud:
        registry = fraud.rollback(args.reason)
    print(f"rolled back; promoted now: {registry.promoted or 'none (rules only)'}")
    return EXIT_OK
