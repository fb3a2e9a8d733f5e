"""``ledger fraud ...``: simulate labelled payments, train, evaluate, list and promote models.

::

    ledger fraud simulate --seed N --out DIR [--customers N] [--days N] [--profile NAME]
    ledger fraud holdout --train DIR --eval DIR [--other DIR] [--typology T ...]
    ledger fraud train --data DIR | --from-store [--unreviewed legit|drop]
    ledger fraud evaluate --data DIR [--model VERSION|newest] [--warm DIR] [--out DIR]
    ledger fraud book --data DIR [--limit N]          (both in api/cli/fraud_evaluate.py)
    ledger fraud models
    ledger fraud promote VERSION --reason TEXT
    ledger fraud rollback --reason TEXT
    ledger fraud monitor | compare | thresholds | shadow   (api/cli/fraud_rollout.py)

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
from api.cli import fraud_evaluate, fraud_holdout, fraud_rollout
from api.cli.common import EXIT_OK, cli_causation
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from application.fraud.features import ledger_feed
from domain.causation import caused_by
from domain.fraud.claims import merge_labels


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
        help="the ledger's own event log, labelled by the analysts' decided fraud cases and "
        "the customers' fraud claims, scam reports and chargebacks",
    )
    train.add_argument(
        "--unreviewed",
        choices=("legit", "drop"),
        default="legit",
        help="--from-store: payments nobody labelled (no verdict, no claim) count as "
        "legitimate (legit, the default) or are left out (drop); the output and the "
        "artifact's meta say how many there were",
    )
    train.add_argument("--rounds", type=int, default=300, help="maximum boosting rounds (300)")
    fraud_evaluate.add_parsers(sub)  # evaluate, book
    sub.add_parser("models", help="list model artifacts and the registry's state")
    promote = sub.add_parser("promote", help="make a registered model score payments")
    promote.add_argument("version", help="model version (or a unique prefix)")
    promote.add_argument("--reason", required=True, help="why (recorded in the event)")
    rollback = sub.add_parser("rollback", help="go back to the previously promoted model")
    rollback.add_argument("--reason", required=True, help="why (recorded in the event)")
    fraud_rollout.add_parsers(sub)


def _training() -> ModuleType:
    """adapters.fraud.training, imported on use: it loads LightGBM, NumPy and scikit-learn
    (1-2 s), which no other `ledger` command needs."""
    from adapters.fraud import training

    return training


def _datasets() -> ModuleType:
    """adapters.fraud.dataset, imported on use (NumPy)."""
    from adapters.fraud import dataset

    return dataset


def model_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def cmd_fraud(args: argparse.Namespace, settings: Settings) -> int:
    if args.fraud_command in fraud_rollout.HANDLERS:
        return fraud_rollout.cmd_rollout(args, settings)
    handlers = {
        "simulate": _simulate,
        "train": _train,
        "evaluate": fraud_evaluate.cmd_evaluate,
        "book": fraud_evaluate.cmd_book,
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
        data = _store_dataset(settings, args.unreviewed)
        print(_labelling_line(data.labelling))
    artifact = _training().train(data, ArtifactStore(model_dir(settings)), rounds=args.rounds)
    keys = ("features", "data", "split", "metrics", "created_at")
    details = {k: artifact.meta[k] for k in keys if k in artifact.meta}
    with _fraud(settings) as fraud:
        fraud.register_model(artifact.version, details)
    print(f"trained and registered model {artifact.version}")
    print(f"  artifact: {model_dir(settings) / artifact.version}")
    print(f"  data: {json.dumps(artifact.meta['data'])}")
    print(f"  split: {json.dumps(artifact.meta.get('split'))}")
    print(f"  validation: {json.dumps(artifact.meta['metrics'])}")
    return EXIT_OK


def _labelling_line(labelling: dict[str, Any]) -> str:
    by_source = ", ".join(f"{k} {v}" for k, v in labelling["rows_by_label_source"].items())
    return (
        f"labels: {labelling['labelled']} of {labelling['payments']} payments labelled; "
        f"{labelling['unreviewed']} unreviewed, treated as "
        f"{labelling['unreviewed_treated_as']} (--unreviewed); rows by label: {by_source}"
    )


def _store_dataset(settings: Settings, unreviewed: str = "legit") -> Any:
    """The ledger's log, labelled by the analysts' verdicts and the customers' claims
    (:func:`~domain.fraud.claims.merge_labels`)."""
    container = bootstrap(settings)
    try:
        container.projector.catch_up()  # the read models hold the verdicts and the claims
        queries = container.fraud_queries
        merged = merge_labels(queries.labels(), queries.claims.labels())
        labels = {tx_id: label for tx_id, (label, _) in merged.items()}
        sources = {tx_id: str(source) for tx_id, (_, source) in merged.items()}
        feed = ledger_feed(container.ledger)
        events: list[object] = []
        position = 0
        while True:
            page = feed(position, 5000)
            events.extend(event for _, event in page)
            if len(page) < 5000:
                break
            position = page[-1][0]
        return _datasets().dataset_from_log(
            events,
            labels,
            "ledger event log + analyst verdicts + customer claims",
            label_sources=sources,
            unreviewed=unreviewed,
        )
    finally:
        container.close()


@contextmanager
def _fraud(settings: Settings) -> Iterator[Any]:
    """The fraud application, with the CLI user as the actor of every event."""
    container = bootstrap(settings)
    try:
        with caused_by(cli_causation()):
            yield container.fraud
    finally:
        container.close()


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
    if registry.challenger is not None:
        print(f"challenger (shadow): {registry.challenger}")
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
