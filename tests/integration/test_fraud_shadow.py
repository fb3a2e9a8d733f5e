"""A challenger model in shadow: its decisions are in the audit trail, and no payment changes.

The same payments, at the same times, are booked twice with the same promoted model: once
without a challenger (on SQLite) and once with one (on each backend). Every screening of
the second run records the challenger's version, score and the outcome it would have
given (``challenger`` on ``Screened``, shown by the audit trail and kept in
``rm_fraud_scores``), and every payment ends with the status of the first run. A challenger
whose artifact is missing is recorded as not scored and changes nothing either.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.rollout import compare
from adapters.fraud.training import train
from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from domain.causation import Causation, caused_by
from domain.fraud.features import FEATURES
from domain.fraud.registry import REGISTRY_ID
from projections.fraud.monitor import MonitorQueries
from tests.builders import FakeClock, iban, open_command, payment
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture

MLOPS = Causation(actor="user:mlops", correlation_id="corr-shadow", channel="CLI")
THRESHOLDS = {"review_score": Decimal("0.02"), "decline_score": Decimal("0.6")}


@pytest.fixture(scope="module")
def challenger_models(trained_models: Path, tmp_path_factory) -> Path:  # noqa: F811
    """The session's model and a challenger trained on the same data with fewer rounds."""
    models = tmp_path_factory.mktemp("challenger") / "models"
    shutil.copytree(trained_models, models)
    train(trained_models.parent / "data", ArtifactStore(models), rounds=8)
    return models


def versions(models: Path) -> tuple[str, str]:
    promoted, challenger = (str(m["version"]) for m in ArtifactStore(models).metas())
    return promoted, challenger


def payments() -> list[tuple[str, str, str, int]]:
    """(debtor, creditor, amount, seconds after the previous) of a small deterministic day:
    regular payees, new payees, a burst of small ones, large ones."""
    debtors = [iban("DE", 9100 + i) for i in range(4)]
    regular = [iban("FR", 9200 + i) for i in range(3)]
    plan: list[tuple[str, str, str, int]] = []
    for round_ in range(6):
        for i, debtor in enumerate(debtors):
            plan.append((debtor, regular[i % 3], f"{25 + 10 * i + round_}.50", 1800))
    for k in range(8):
        plan.append((debtors[0], iban("NL", 9300 + k), f"{1 + k % 3}.00", 20))
    for k, amount in enumerate(("4800.00", "9500.00", "9900.00", "2000.00")):
        plan.append((debtors[1 + k % 3], iban("GB", 9400 + k), amount, 60))
    return plan


def book(container: Container, clock: FakeClock) -> dict[str, str]:
    """Open and fund the debtors, book the plan; the status of each payment by external id."""
    plan = payments()
    statuses: dict[str, str] = {}
    with caused_by(MLOPS):
        for debtor in sorted({p[0] for p in plan}):
            container.ledger.open_account(open_command(debtor))
            funding = payment(debtor=iban("ES", 9500), creditor=debtor, amount="60000")
            assert container.ledger.submit_payment(funding).status == "POSTED"
        for n, (debtor, creditor, amount, gap) in enumerate(plan):
            clock.advance(gap)
            instruction = payment(
                debtor=debtor, creditor=creditor, amount=amount, external_id=f"SH-{n:03d}"
            )
            statuses[f"SH-{n:03d}"] = container.ledger.submit_payment(instruction).status
    return statuses


@pytest.fixture
def run(challenger_models: Path) -> Iterator:
    built: list[Container] = []

    def run(database: DatabaseConfig, shadow: str | None) -> tuple[Container, dict[str, str]]:
        install_models(challenger_models, database.data_dir)
        settings = Settings().with_database(database).updated(fraud=THRESHOLDS)
        clock = FakeClock()
        container = bootstrap(settings, clock=clock)
        built.append(container)
        promoted, challenger = versions(challenger_models)
        with caused_by(MLOPS):
            for version in (promoted, challenger, "0" * 64):
                container.fraud.register_model(version, {"features": list(FEATURES)})
            container.fraud.promote(promoted, "champion")
            if shadow is not None:
                container.fraud.shadow(shadow, "compare before promotion")
        return container, book(container, clock)

    yield run
    for container in built:
        container.close()


def test_the_challengers_decisions_are_recorded_and_no_payment_changes(
    run, database, tmp_path, challenger_models
):
    promoted, challenger = versions(challenger_models)
    _, baseline = run(DatabaseConfig(data_dir=tmp_path / "baseline"), None)
    container, statuses = run(database, challenger)
    assert statuses == baseline
    assert {"POSTED", "HELD"} <= set(statuses.values())  # the thresholds did decide things
    container.projector.catch_up()
    rows = MonitorQueries(container.fraud_queries.engine).scored()
    booked = [row for row in rows if row.model_version == promoted]
    assert len(booked) == len(payments()) + 4  # and the four fundings (incoming credits)
    assert {row.challenger_version for row in booked} == {challenger}
    assert all(row.challenger_score is not None and row.challenger_error is None for row in booked)
    assert {row.challenger_outcome for row in booked} <= {"APPROVE", "REVIEW", "DECLINE"}
    # the audit trail shows both decisions on the payment's Screened event
    row = booked[-1]
    trail = container.queries.audit_trail(stream_id=row.transaction_id, first=20).edges
    (screened,) = [event for _, event in trail if event.event_type.endswith("Screened")]
    assert screened.payload["outcome"] == row.outcome
    assert screened.payload["challenger"] == {
        "version": challenger,
        "score": row.challenger_score,
        "outcome": row.challenger_outcome,
    }
    registry = container.queries.audit_trail(stream_id=str(REGISTRY_ID), first=20).edges
    (chosen,) = [event for _, event in registry if event.event_type.endswith("ChallengerSet")]
    assert (chosen.actor, chosen.payload["version"]) == ("user:mlops", challenger)
    report = compare(rows, container.fraud_queries.labels(), challenger)
    assert report["compared"] == len(booked) and report["agreement"] is not None
    assert sum(report["outcomes"]["challenger"].values()) == len(booked)


def test_a_challenger_that_cannot_load_is_recorded_and_changes_nothing(run, database, tmp_path):
    _, baseline = run(DatabaseConfig(data_dir=tmp_path / "baseline"), None)
    container, statuses = run(database, "0" * 64)  # registered, no artifact
    assert statuses == baseline
    container.projector.catch_up()
    rows = MonitorQueries(container.fraud_queries.engine).scored()
    assert rows and all(row.challenger_version == "0" * 64 for row in rows)
    assert all(row.challenger_score is None and row.challenger_error for row in rows)
    with caused_by(MLOPS):
        container.fraud.stop_shadow("artifact missing")
    assert container.fraud.challenger_version() is None
