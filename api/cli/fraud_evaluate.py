"""``ledger fraud evaluate`` and ``ledger fraud book``: a model against labelled data.

::

    ledger fraud evaluate --data DIR [--model VERSION|newest] [--warm DIR] [--out DIR]
                          [--review S] [--decline S]
    ledger fraud book --data DIR [--limit N]

``evaluate`` scores the model that decides payments, the registry's promoted one, unless
``--model`` names another; only outgoing payments, in time order (a data set that is not
is refused, naming the record). ``book`` sends a data set through the real ledger with a
progress bar; a bad record is reported and skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.fraud.artifacts import ArtifactError, ArtifactStore
from api.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from api.seed.fraud_book import COLUMNS, BadRecord, book_data

NEWEST = "newest"


def add_parsers(sub: Any) -> None:
    """The ``evaluate`` and ``book`` subcommands of ``ledger fraud``."""
    evaluate = sub.add_parser(
        "evaluate", help="evaluate the promoted (or a named) model on labelled data"
    )
    evaluate.add_argument("--data", type=Path, required=True, help="directory from simulate")
    evaluate.add_argument(
        "--model",
        help=f"model version or prefix, or {NEWEST!r} (default: the promoted model)",
    )
    evaluate.add_argument(
        "--warm",
        type=Path,
        help="an earlier data set replayed into the features first (not scored)",
    )
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
    booking.add_argument("--limit", type=int, help="book at most this many records")


def _models(settings: Settings) -> ArtifactStore:
    return ArtifactStore(settings.data_dir / "models")


def chosen_model(args: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    """The version to evaluate and why: ``--model`` (a prefix, or the newest artifact),
    else the registry's promoted model. Raises ArtifactError when there is none."""
    store = _models(settings)
    if args.model == NEWEST:
        metas = store.metas()
        if not metas:
            raise ArtifactError("no trained model; run `ledger fraud train` first")
        return str(metas[-1]["version"]), "the newest artifact"
    if args.model:
        return store.resolve(args.model), "--model"
    container = bootstrap(settings)
    try:
        promoted = container.fraud.registry().promoted
    finally:
        container.close()
    if promoted is None:
        raise ArtifactError(
            "no model is promoted (payments are screened by the rules only): promote one "
            f"with `ledger fraud promote VERSION` or name one with --model VERSION|{NEWEST}"
        )
    return promoted, "promoted"


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.fraud import evaluation  # LightGBM, scikit-learn, matplotlib: on use
    from adapters.fraud.evaluation_data import DatasetError

    try:
        version, why = chosen_model(args, settings)
    except ArtifactError as error:
        print(f"ledger: {error}", file=sys.stderr)
        return EXIT_USAGE
    out = args.out or args.data / "evaluation"
    # The configured thresholds (LEDGER_FRAUD_REVIEW_SCORE / _DECLINE_SCORE) unless given.
    review = args.review if args.review is not None else float(settings.fraud.review_score)
    decline = args.decline if args.decline is not None else float(settings.fraud.decline_score)
    try:
        artifact = _models(settings).load(version)
        report = evaluation.evaluate(
            args.data, artifact, out, review=review, decline=decline, warm=args.warm
        )
    except ArtifactError as error:
        print(f"ledger: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DatasetError as error:
        print(f"ledger: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"model {version} ({why})")
    print(evaluation.table(report))
    print(f"report: {out / 'evaluation.json'}")
    print(f"curves: {report['plots']['roc']}  {report['plots']['pr']}")
    return EXIT_OK


def cmd_book(args: argparse.Namespace, settings: Settings) -> int:
    screen = console()
    container = bootstrap(settings)
    try:
        container.warm_up()
        with Progress(
            TextColumn("book"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=screen,
        ) as progress:
            task = progress.add_task("book", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            def bad(record: BadRecord) -> None:
                progress.console.print(f"bad record, skipped: {record}", markup=False)

            report = book_data(container, args.data, args.limit, progress=advance, on_bad=bad)
        container.projector.catch_up()
    finally:
        container.close()
    columns = list(COLUMNS) + sorted(
        {c for counts in report.columns.values() for c in counts} - set(COLUMNS)
    )
    # Plain fixed-width lines (not a rich table): read by people and by scripts alike.
    print(f"{report.booked} payments booked")
    print(f"{'typology':18}" + "".join(f"{c:>{len(c) + 2}}" for c in columns))
    for typology, counts in sorted(report.columns.items()):
        cells = "".join(f"{counts.get(c, 0):>{len(c) + 2}}" for c in columns)
        print(f"{typology:18}{cells}")
    print(f"bad records: {len(report.bad)}" + (" (skipped, listed above)" if report.bad else ""))
    return EXIT_FAILED if report.bad else EXIT_OK
