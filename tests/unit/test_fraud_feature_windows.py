"""Fraud feature windows at their edges, and whole feature vectors written out by hand.

The other feature tests sample far from the window edges, so a window of 23 h instead of
24 h (or 59 min instead of 1 h) would pass them. Here every windowed feature is scored
with its event at exactly the window's length, one second inside and one second outside,
and the expected values are literals worked out by hand, never computed by the code under
test. A window is ``(now - span, now]``: an event exactly ``span`` old has left it.

Windows in ``domain/fraud/features/base.py``: 1 h (``debtor_tx_1h``) and 24 h (velocity,
outflow, near-threshold count, new debtors of the creditor, new payers of the debtor,
rejections), plus the 24 h trimming of the kept state on every update, which the
scenario exercises through payments observed half an hour before the scored one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.fraud.features import FEATURES, FeatureState, Payment
from domain.fraud.features.base import NAMES as BASE_FEATURES

DEBTOR = "DE89370400440532013000"
CREDITOR = "FR1420041010050500013M02606"
OTHER_CREDITOR = "NL91ABNA0417164300"
PAYER_X = "DE02120300000000202051"
PAYER_Y = "DE12500105170648489890"
PAYER_Z = "DE44500105175407324931"
SCORED_AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def at(moment: datetime, debtor: str, creditor: str, amount: str, device: str = "d-1") -> Payment:
    meta = {"deviceId": device, "ip": "1.1.1.1"}
    return Payment.of(debtor, creditor, Decimal(amount), moment, meta)


def day_window_history(age: timedelta) -> FeatureState:
    """Events ``age`` before the scored payment, then more half an hour before it.

    ``age`` old: the debtor pays CREDITOR 9500.00 (near the reporting threshold) and that
    payment is rejected; PAYER_X pays the debtor for the first time. Half an hour before
    the scored payment (each of these trims the 24 h state it touches): the debtor pays
    OTHER_CREDITOR 1.00, PAYER_Y pays the debtor, PAYER_Z pays CREDITOR.
    """
    state = FeatureState()
    old = SCORED_AT - age
    state.observe(at(old, DEBTOR, CREDITOR, "9500.00"), "old")
    state.observe_rejection("old")
    state.observe(at(old, PAYER_X, DEBTOR, "50.00"))
    recent = SCORED_AT - timedelta(minutes=30)
    state.observe(at(recent, DEBTOR, OTHER_CREDITOR, "1.00"), "recent")
    state.close_payment("recent")
    state.observe(at(recent, PAYER_Y, DEBTOR, "2.00"))
    state.observe(at(recent, PAYER_Z, CREDITOR, "3.00"))
    return state


DAY_WINDOW_FEATURES = (
    "debtor_tx_1h",
    "debtor_tx_24h",
    "debtor_outflow_24h_log",
    "debtor_near_threshold_24h",
    "creditor_new_debtors_24h",
    "debtor_new_payers_24h",
    "rejections_24h",
)
INSIDE_24H = {
    "debtor_tx_1h": 1.0,  # only the payment half an hour ago
    "debtor_tx_24h": 2.0,
    "debtor_outflow_24h_log": 9.159258,  # log1p(9500.00 + 1.00)
    "debtor_near_threshold_24h": 1.0,  # the 9500.00
    "creditor_new_debtors_24h": 2.0,  # the debtor and PAYER_Z
    "debtor_new_payers_24h": 2.0,  # PAYER_X and PAYER_Y
    "rejections_24h": 1.0,
}
OUTSIDE_24H = {
    "debtor_tx_1h": 1.0,
    "debtor_tx_24h": 1.0,
    "debtor_outflow_24h_log": 0.693147,  # log1p(1.00)
    "debtor_near_threshold_24h": 0.0,
    "creditor_new_debtors_24h": 1.0,  # PAYER_Z only
    "debtor_new_payers_24h": 1.0,  # PAYER_Y only
    "rejections_24h": 0.0,
}


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (DAY - SECOND, INSIDE_24H),
        (DAY, OUTSIDE_24H),
        (DAY + SECOND, OUTSIDE_24H),
    ],
    ids=["24h-1s-inside", "24h-exactly-outside", "24h+1s-outside"],
)
def test_every_24h_window_at_its_edge(age: timedelta, expected: dict[str, float]) -> None:
    values = day_window_history(age).features(at(SCORED_AT, DEBTOR, CREDITOR, "100.00"))
    assert {name: values[name] for name in DAY_WINDOW_FEATURES} == expected


@pytest.mark.parametrize(
    ("age", "expected"),
    [(HOUR - SECOND, 1.0), (HOUR, 0.0), (HOUR + SECOND, 0.0)],
    ids=["1h-1s-inside", "1h-exactly-outside", "1h+1s-outside"],
)
def test_the_1h_velocity_window_at_its_edge(age: timedelta, expected: float) -> None:
    state = FeatureState()
    state.observe(at(SCORED_AT - age, DEBTOR, CREDITOR, "10.00"))
    values = state.features(at(SCORED_AT, DEBTOR, CREDITOR, "10.00"))
    assert (values["debtor_tx_1h"], values["debtor_tx_24h"]) == (expected, 1.0)


def test_a_rejection_counts_for_24h_from_its_payment_even_when_recorded_later() -> None:
    """The rejection of a payment 24 h - 1 s old still counts; trimmed at 24 h."""
    state = FeatureState()
    state.observe(at(SCORED_AT - DAY + SECOND, DEBTOR, CREDITOR, "10.00"), "tx")
    state.observe(at(SCORED_AT - timedelta(minutes=1), DEBTOR, CREDITOR, "10.00"), "later")
    state.observe_rejection("tx")  # recorded now, counts at the payment's time
    inside = state.features(at(SCORED_AT, DEBTOR, CREDITOR, "10.00"))
    assert inside["rejections_24h"] == 1.0
    outside = state.features(at(SCORED_AT + SECOND, DEBTOR, CREDITOR, "10.00"))
    assert outside["rejections_24h"] == 0.0


def test_the_hour_of_day_changes_on_the_hour() -> None:
    state = FeatureState()
    before = state.features(at(SCORED_AT - SECOND, DEBTOR, CREDITOR, "10.00"))
    on = state.features(at(SCORED_AT, DEBTOR, CREDITOR, "10.00"))
    assert (before["hour"], on["hour"]) == (9.0, 10.0)


def test_a_full_feature_vector_of_a_hand_built_history() -> None:
    """Three payments and a rejection by the debtor, one payment to it; every value by hand.

    08:00 debtor -> CREDITOR 100.00; 08:30 debtor -> CREDITOR 300.00, rejected;
    09:30 PAYER_X -> debtor 50.00; 09:40 debtor -> OTHER_CREDITOR 9200.00.
    Scored: 10:00 debtor -> PAYER_Y (never paid) 500.00 from a new device, same IP.
    Mean 3200, sample deviation sqrt((3100² + 2900² + 6000²) / 2) = 5197.114584.
    """
    base = SCORED_AT.replace(hour=0)
    state = FeatureState()
    state.observe(at(base.replace(hour=8), DEBTOR, CREDITOR, "100.00"), "a")
    state.observe(at(base.replace(hour=8, minute=30), DEBTOR, CREDITOR, "300.00"), "b")
    state.observe_rejection("b")
    state.observe(at(base.replace(hour=9, minute=30), PAYER_X, DEBTOR, "50.00"))
    state.observe(at(base.replace(hour=9, minute=40), DEBTOR, OTHER_CREDITOR, "9200.00"))
    scored = at(SCORED_AT, DEBTOR, PAYER_Y, "500.00", device="d-2")
    assert [state.features(scored)[name] for name in BASE_FEATURES] == [
        6.216606,  # amount_log: log1p(500)
        1.0,  # debtor_tx_1h: 09:40
        3.0,  # debtor_tx_24h: 08:00, 08:30, 09:40
        9.169623,  # debtor_outflow_24h_log: log1p(100 + 300 + 9200)
        3.0,  # debtor_history
        -0.519519,  # amount_zscore: (500 - 3200) / 5197.114584
        0.15625,  # amount_to_mean: 500 / 3200
        1.0,  # first_to_creditor
        1.0,  # creditor_new
        0.0,  # creditor_new_debtors_24h: the creditor is unknown
        1.0,  # debtor_new_payers_24h: PAYER_X
        7.496097,  # seconds_since_debtor_received_log: log1p(1800)
        10.0,  # hour
        0.0,  # cross_border: DE -> DE
        1.0,  # round_amount
        0.0,  # near_threshold
        1.0,  # debtor_near_threshold_24h: the 9200.00
        1.0,  # new_device: d-2
        0.0,  # new_ip
        1.0,  # rejections_24h
    ]


def test_a_full_feature_vector_of_a_first_payment() -> None:
    """Nothing known: the defaults, late in the day, cross-border, not round, near the threshold."""
    scored = at(SCORED_AT.replace(hour=23, minute=59, second=59), DEBTOR, CREDITOR, "9000.01")
    assert [FeatureState().features(scored)[name] for name in BASE_FEATURES] == [
        9.105092,  # amount_log: log1p(9000.01)
        0.0,
        0.0,
        0.0,  # log1p(0)
        0.0,
        0.0,  # amount_zscore: fewer than two payments
        1.0,  # amount_to_mean: no mean yet
        1.0,
        1.0,
        0.0,
        0.0,
        14.767941,  # seconds_since_debtor_received_log: log1p(30 days), never received
        23.0,
        1.0,  # DE -> FR
        0.0,
        1.0,  # 9000.01 is in [9000, 10000)
        0.0,
        0.0,  # new_device: no history
        0.0,
        0.0,
    ]


def test_the_first_twenty_features_keep_their_place() -> None:
    """Models trained before the habit features list these twenty, in this order."""
    assert FEATURES[: len(BASE_FEATURES)] == BASE_FEATURES and len(BASE_FEATURES) == 20
