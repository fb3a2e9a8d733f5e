"""Drift (PSI) and capacity thresholds: the arithmetic, and the report over recorded screenings.

The drift test of issue #16 at its smallest: screenings whose population moved in two
features (and in one channel only) are flagged in exactly those features and that channel.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fraud.monitoring import channel_labels, drift_report, render
from adapters.fraud.rollout import compare, thresholds
from domain.fraud.drift import (
    MIN_ROWS,
    Bins,
    capacity_threshold,
    drift_level,
    psi,
    reference_bins,
)
from projections.fraud.monitor import ScoredPayment

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NAMES = ("amount_log", "hour", "new_device", "debtor_tx_24h")


def population(rng: random.Random, *, amount_shift: float = 0.0, hour_shift: int = 0) -> dict:
    return {
        "amount_log": rng.gauss(4.0 + amount_shift, 1.0),
        "hour": float((int(rng.gauss(13, 3)) + hour_shift) % 24),
        "new_device": float(rng.random() < 0.05),
        "debtor_tx_24h": float(rng.randint(0, 4)),
    }


def rows_of(values: list[dict], channel: str, version: str = "v1") -> list[ScoredPayment]:
    return [
        ScoredPayment(
            transaction_id=f"{channel}-{i}",
            screened_at=T0 + timedelta(minutes=i),
            channel=channel,
            outcome="APPROVE",
            score=f"{min(0.99, max(0.0, v['amount_log'] / 10)):.6f}",
            model_version=version,
            features={k: format(Decimal(repr(x)), "f") for k, x in v.items()},
            challenger_version=None,
            challenger_score=None,
            challenger_outcome=None,
            challenger_error=None,
        )
        for i, v in enumerate(values)
    ]


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, Bins], Bins]:
    rng = random.Random(1)
    training = [population(rng) for _ in range(5000)]
    features = {name: reference_bins([row[name] for row in training]) for name in NAMES}
    score = reference_bins([min(0.99, max(0.0, row["amount_log"] / 10)) for row in training])
    return features, score


def test_the_same_population_is_stable_and_a_shifted_one_is_flagged_exactly(reference):
    rng = random.Random(2)
    stable = rows_of([population(rng) for _ in range(1500)], "WEB")
    report = drift_report(stable, "v1", *reference)
    assert report.flagged("drifting") == [] and report.flagged("watch") == []
    shifted = rows_of(
        [population(rng, amount_shift=1.0, hour_shift=8) for _ in range(1500)], "MOBILE"
    )
    report = drift_report(stable + shifted, "v1", *reference)
    assert report.flagged("drifting") == ["amount_log", "hour"]
    by_name = {drift.name: drift for drift in report.features}
    for name in ("amount_log", "hour"):
        assert drift_level(by_name[name].per_channel["MOBILE"]) == "drifting"
        assert drift_level(by_name[name].per_channel["WEB"]) == "stable"
    for name in ("new_device", "debtor_tx_24h"):
        assert {drift_level(v) for v in by_name[name].per_channel.values()} == {"stable"}
    assert report.score.level == "drifting"  # the score follows the amount here
    assert "drifting: amount_log, hour" in render(report)
    assert report.channels == {"MOBILE": 1500, "WEB": 1500}


def test_rows_of_another_model_or_too_few_rows_give_no_index(reference):
    rng = random.Random(3)
    other = rows_of([population(rng, hour_shift=8) for _ in range(500)], "WEB", version="v2")
    report = drift_report(other, "v1", *reference)
    assert report.rows == 0 and report.score.psi is None
    few = rows_of([population(rng, hour_shift=8) for _ in range(MIN_ROWS - 1)], "WEB")
    report = drift_report(few, "v1", *reference)
    assert {drift.level for drift in report.features} == {"too-few"}


def test_channel_labels_are_bounded_whatever_the_input():
    rows = rows_of([population(random.Random(4))] * 3, "X")
    many = [
        ScoredPayment(**{**row.__dict__, "channel": f"C{i}", "transaction_id": str(i)})
        for i, row in enumerate(rows * 20)
    ]
    labels = channel_labels(many, limit=4)
    assert len(set(labels.values())) == 5 and "other" in labels.values()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
    st.integers(2, 20),
)
def test_reference_bins_hold_every_value_once(values, bins):
    reference = reference_bins(values, bins)
    assert sum(reference.counts(values)) == len(values)
    assert abs(sum(reference.proportions) - 1) < 1e-4
    assert Bins.from_json(reference.as_json()).edges == reference.edges


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=MIN_ROWS, max_size=400))
def test_psi_is_never_negative_and_near_zero_against_its_own_reference(values):
    reference = reference_bins(values)
    own = psi(reference, values)
    assert own is not None and 0 <= own < 0.01
    moved = psi(reference, [v + 1e4 for v in values])
    assert moved is not None and moved >= own


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 1000).map(lambda n: Decimal(n) / 1000), min_size=1, max_size=300),
    st.integers(1, 50),
    st.integers(1, 10),
)
def test_the_capacity_threshold_never_opens_more_cases_than_the_capacity(scores, per_day, days):
    chosen = capacity_threshold(scores, days, per_day)
    held = sum(1 for score in scores if score >= chosen.threshold)
    budget = per_day * days
    assert held <= max(budget, 0) or chosen.threshold == min(scores)
    if budget < len(scores):
        assert held <= budget
        # one step lower would exceed it: the threshold is the lowest within capacity
        below = [score for score in scores if score < chosen.threshold]
        if below:
            assert sum(1 for score in scores if score >= max(below)) > budget
    else:
        assert held == len(scores)


def test_thresholds_report_the_score_based_threshold_beside_the_capacity_one():
    scores = [Decimal(i) / 100 for i in range(100)]  # 0.00 .. 0.99 over 10 days
    report = thresholds(scores, 10, 2, Decimal("0.5"))
    assert Decimal(report["capacity_threshold"]) == Decimal("0.80")
    assert report["capacity_cases_per_day"] == 2.0
    assert report["review_cases_per_day"] == 5.0


def test_compare_counts_agreement_outcomes_and_quality_on_labelled_payments():
    base = rows_of([population(random.Random(5)) for _ in range(4)], "WEB")
    pairs = [
        ("APPROVE", "APPROVE"),
        ("REVIEW", "APPROVE"),
        ("APPROVE", "DECLINE"),
        ("REVIEW", None),
    ]
    rows = [
        ScoredPayment(
            **{
                **row.__dict__,
                "outcome": promoted,
                "challenger_version": "v2",
                "challenger_outcome": challenger,
                "challenger_score": None if challenger is None else "0.5",
                "challenger_error": "missing" if challenger is None else None,
            }
        )
        for row, (promoted, challenger) in zip(base, pairs, strict=True)
    ]
    report = compare(rows, {"WEB-1": 0, "WEB-2": 1})
    assert (report["screenings"], report["compared"], report["challenger_errors"]) == (4, 3, 1)
    assert report["agreement"] == round(1 / 3, 4)
    assert report["outcomes"]["challenger"] == {"APPROVE": 2, "REVIEW": 0, "DECLINE": 1}
    assert report["promoted"] == {"tp": 0, "fp": 1, "fn": 1, "precision": 0.0, "recall": 0.0}
    assert report["challenger"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0}
