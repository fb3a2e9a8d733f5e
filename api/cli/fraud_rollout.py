"""``ledger fraud monitor | compare | thresholds | shadow``: monitoring and safe rollout.

::

    ledger fraud monitor [--since T] [--until T] [--model V] [--reference DIR] [--out DIR]
    ledger fraud compare [--since T] [--until T] [--challenger V]
    ledger fraud thresholds [--cases-per-day N] [--since T | --data DIR] [--model V]
    ledger fraud shadow VERSION --reason TEXT
    ledger fraud shadow --stop --reason TEXT

``T`` is an ISO 8601 time (``2026-12-01T00:00:00+00:00``) or a duration back from now
(``24h``, ``7d``, ``90m``). Without ``--since`` a report covers the
``LEDGER_FRAUD_MONITOR_WINDOW_HOURS`` (``thresholds``: 7 days) up to the newest screening
recorded. They read the read model ``rm_fraud_scores`` (caught up first); ``shadow`` is an
audited event of the model registry, attributed to the user running the command.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.monitoring import drift_report, model_rows, plot, reference_of, render
from adapters.fraud.rollout import compare, render_comparison, render_thresholds, thresholds
from api.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, cli_causation
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from domain.causation import caused_by
from projections.fraud.monitor import MonitorQueries, ScoredPayment

_DURATION = re.compile(r"(\d{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def add_parsers(sub: Any) -> None:
    """The subcommands, on ``ledger fraud``'s subparsers."""
    monitor = sub.add_parser("monitor", help="drift of features and score (PSI) with plots")
    _window(monitor)
    monitor.add_argument("--model", help="model version or prefix (default: the promoted)")
    monitor.add_argument(
        "--reference", type=Path, help="data set (from simulate) for a model stored without one"
    )
    monitor.add_argument("--out", type=Path, help="write monitor.json and plots here")
    comparison = sub.add_parser("compare", help="promoted model against the shadow challenger")
    _window(comparison)
    comparison.add_argument("--challenger", help="only this challenger (version or prefix)")
    capacity = sub.add_parser(
        "thresholds", help="review threshold for the analysts' capacity (cases per day)"
    )
    capacity.add_argument("--cases-per-day", type=int, help="(LEDGER_FRAUD_CASES_PER_DAY)")
    source = capacity.add_mutually_exclusive_group()
    source.add_argument("--since", help="recorded scores since T (default: the last 7 days)")
    source.add_argument("--data", type=Path, help="score a data set from simulate instead")
    capacity.add_argument("--model", help="model version or prefix (default: the promoted)")
    shadow = sub.add_parser("shadow", help="score a challenger model in shadow (or --stop)")
    shadow.add_argument("version", nargs="?", help="model version (or a unique prefix)")
    shadow.add_argument("--stop", action="store_true", help="stop scoring the challenger")
    shadow.add_argument("--reason", required=True, help="why (recorded in the event)")


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="from T (ISO time or 24h, 7d back from now)")
    parser.add_argument("--until", help="before T (default: now)")


HANDLERS = ("monitor", "compare", "thresholds", "shadow")


def cmd_rollout(args: argparse.Namespace, settings: Settings) -> int:
    handler = {
        "monitor": _monitor,
        "compare": _compare,
        "thresholds": _thresholds,
        "shadow": _shadow,
    }[args.fraud_command]
    try:
        return handler(args, settings)
    except ValueError as error:
        print(f"ledger: {error}")
        return EXIT_USAGE


def parse_time(text: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC when it names no offset) or a duration back from ``now``."""
    duration = _DURATION.fullmatch(text.strip())
    if duration is not None:
        return now - timedelta(**{_UNITS[duration.group(2)]: int(duration.group(1))})
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since/--until: not a time or a duration (24h, 7d): {text!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _rows(
    container: Container, since: str | None, until: str | None, default: timedelta
) -> tuple[list[ScoredPayment], datetime | None, datetime | None]:
    container.projector.catch_up()
    queries = MonitorQueries(container.fraud_queries.engine)
    now = datetime.now(UTC)
    end = parse_time(until, now) if until else None
    if since:
        start: datetime | None = parse_time(since, now)
    else:  # the default window ends at the newest screening (simulated data is in the past)
        latest = queries.latest()
        start = None if latest is None else latest - default + timedelta(microseconds=1)
    return queries.scored(start, end), start, end


def _version(settings: Settings, container: Container, prefix: str | None) -> str | None:
    if prefix:
        return ArtifactStore(settings.data_dir / "models").resolve(prefix)
    return container.fraud.promoted_version()


def _monitor(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        version = _version(settings, container, args.model)
        if version is None:
            print("ledger: no model is promoted; name one with --model")
            return EXIT_FAILED
        window = timedelta(hours=settings.fraud.monitor_window_hours)
        rows, start, end = _rows(container, args.since, args.until, window)
    finally:
        container.close()
    artifact = ArtifactStore(settings.data_dir / "models").load(version)
    reference = reference_of(artifact.meta)
    if args.reference is not None:
        from adapters.fraud.reference import reference_from_data
        from adapters.fraud.scoring import LightGBMModel

        reference = reference_from_data(args.reference, LightGBMModel(artifact))
    if reference is None:
        print(f"ledger: model {version[:12]} was trained without a reference; pass --reference")
        return EXIT_FAILED
    report = drift_report(rows, version, *reference)
    print(f"window: {_at(start)} .. {_at(end)}")
    print(render(report))
    if args.out is not None:
        plots = plot(report, rows, *reference, args.out)
        document = {**report.as_json(), "since": _at(start), "until": _at(end), "plots": plots}
        (args.out / "monitor.json").write_text(json.dumps(document, indent=2) + "\n")
        print(f"report: {args.out / 'monitor.json'}  plots: {plots['features']} {plots['score']}")
    return EXIT_OK


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        challenger = _version(settings, container, args.challenger) if args.challenger else None
        window = timedelta(hours=settings.fraud.monitor_window_hours)
        rows, start, end = _rows(container, args.since, args.until, window)
        labels = container.fraud_queries.labels()
    finally:
        container.close()
    report = compare(rows, labels, challenger)
    print(f"window: {_at(start)} .. {_at(end)}")
    print(render_comparison(report))
    return EXIT_OK


def _thresholds(args: argparse.Namespace, settings: Settings) -> int:
    cases = args.cases_per_day or settings.fraud.cases_per_day
    if cases is None:
        print("ledger: give --cases-per-day N (or set LEDGER_FRAUD_CASES_PER_DAY)")
        return EXIT_USAGE
    container = bootstrap(settings)
    try:
        version = _version(settings, container, args.model)
        rows: list[ScoredPayment] = []
        if args.data is None:
            rows, start, end = _rows(container, args.since, None, timedelta(days=7))
    finally:
        container.close()
    if version is None:
        print("ledger: no model is promoted; name one with --model")
        return EXIT_FAILED
    if args.data is not None:
        scores, days = _data_scores(settings, version, args.data)
    else:
        scored = model_rows(rows, version)
        scores = [Decimal(str(row.score)) for row in scored]
        first = start or (scored[0].screened_at if scored else None)
        last = end or (scored[-1].screened_at if scored else None)
        days = (last - first).total_seconds() / 86400 if first and last else 0.0
    if not scores or days <= 0:
        print(f"ledger: no scores of model {version[:12]} over a time span to choose from")
        return EXIT_FAILED
    print(render_thresholds(thresholds(scores, days, cases, settings.fraud.review_score)))
    return EXIT_OK


def _data_scores(settings: Settings, version: str, data: Path) -> tuple[list[Decimal], float]:
    """The model's scores of a simulated data set and the days it spans."""
    from adapters.fraud.dataset import build_dataset
    from adapters.fraud.scoring import LightGBMModel
    from domain.fraud.features import FEATURES

    model = LightGBMModel(ArtifactStore(settings.data_dir / "models").load(version))
    dataset = build_dataset(data)
    columns = [FEATURES.index(name) for name in model.features]
    probabilities = model.score_many(dataset.x[:, columns].tolist())
    days = (max(dataset.times) - min(dataset.times)).total_seconds() / 86400
    return [Decimal(f"{p:.6f}") for p in probabilities], days


def _shadow(args: argparse.Namespace, settings: Settings) -> int:
    if args.stop == (args.version is not None):
        print("ledger: give a model VERSION to shadow, or --stop")
        return EXIT_USAGE
    version = None
    if args.version is not None:
        version = ArtifactStore(settings.data_dir / "models").resolve(args.version)
    container = bootstrap(settings)
    try:
        with caused_by(cli_causation()):
            if version is None:
                container.fraud.stop_shadow(args.reason)
                print("stopped the shadow challenger")
            else:
                container.fraud.shadow(version, args.reason)
                print(f"challenger {version} scored in shadow (recorded, never acted upon)")
    finally:
        container.close()
    return EXIT_OK


def _at(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()
