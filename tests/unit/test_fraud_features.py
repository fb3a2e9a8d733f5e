"""Online fraud features: each feature from incrementally kept state, and the undo journal."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.fraud.features import FEATURES, FeatureState, Payment, as_decimals

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DEBTOR = "DE89370400440532013000"
CREDITOR = "FR1420041010050500013M02606"
OTHER = "DE02120300000000202051"


def pay(
    amount: str = "10.00",
    *,
    minutes: float = 0,
    debtor: str = DEBTOR,
    creditor: str = CREDITOR,
    device: str = "d-1",
    ip: str = "1.2.3.4",
) -> Payment:
    meta = {"deviceId": device, "ip": ip}
    return Payment.of(debtor, creditor, Decimal(amount), T0 + timedelta(minutes=minutes), meta)


def test_features_come_in_model_order_and_render_as_decimal_strings():
    values = FeatureState().features(pay("125.40"))
    assert list(values) == list(FEATURES)
    rendered = as_decimals(values)
    assert all(Decimal(text) == Decimal(repr(values[name])) for name, text in rendered.items())


def test_velocity_counts_the_debtors_payments_in_the_last_hour_and_day():
    state = FeatureState()
    for minutes in (0, 10, 50, 200):
        state.observe(pay(minutes=minutes))
    values = state.features(pay(minutes=230))
    assert values["debtor_tx_1h"] == 1  # only the one at 200
    assert values["debtor_tx_24h"] == 4
    later = state.features(pay(minutes=60 * 25))
    assert later["debtor_tx_24h"] == 1  # 200 min is inside 24 h of 1500 min; others fell out


def test_running_mean_and_deviation_match_the_batch_statistics():
    state = FeatureState()
    amounts = [Decimal(a) for a in ("10", "20", "30", "45.5")]
    for i, amount in enumerate(amounts):
        state.observe(pay(str(amount), minutes=i))
    values = state.features(pay("100", minutes=10))
    floats = [float(a) for a in amounts]
    expected = (100 - statistics.mean(floats)) / statistics.stdev(floats)
    assert values["amount_zscore"] == round(expected, 6)
    assert values["debtor_history"] == 4


def test_first_payment_to_creditor_and_new_creditor():
    state = FeatureState()
    first = state.features(pay())
    assert first["first_to_creditor"] == 1 and first["creditor_new"] == 1
    state.observe(pay())
    again = state.features(pay(minutes=1))
    assert again["first_to_creditor"] == 0 and again["creditor_new"] == 0
    other_debtor = state.features(pay(minutes=1, debtor=OTHER))
    assert other_debtor["first_to_creditor"] == 1 and other_debtor["creditor_new"] == 0


def test_mule_fan_in_counts_new_debtors_of_the_creditor_and_of_the_paying_mule():
    state = FeatureState()
    payers = [f"DE{n:02d}370400440532013000" for n in range(10, 16)]
    for i, payer in enumerate(payers):
        state.observe(pay(debtor=payer, creditor=OTHER, minutes=i))
    assert (
        state.features(pay(debtor=DEBTOR, creditor=OTHER, minutes=10))["creditor_new_debtors_24h"]
        == 6
    )
    fan_out = state.features(pay(debtor=OTHER, creditor=CREDITOR, minutes=20))
    assert fan_out["debtor_new_payers_24h"] == 6
    assert fan_out["seconds_since_debtor_received_log"] < 7  # log1p of 15 minutes


def test_hour_cross_border_round_and_threshold():
    values = FeatureState().features(pay("9500.00"))
    assert values["hour"] == 10
    assert values["cross_border"] == 1
    assert values["round_amount"] == 1
    assert values["near_threshold"] == 1
    domestic = FeatureState().features(pay("10000.01", creditor=OTHER))
    assert domestic["cross_border"] == 0
    assert domestic["round_amount"] == 0
    assert domestic["near_threshold"] == 0


def test_new_device_and_ip_only_for_a_debtor_with_history():
    state = FeatureState()
    assert state.features(pay(device="d-9"))["new_device"] == 0
    state.observe(pay())
    values = state.features(pay(device="d-9", ip="9.9.9.9", minutes=1))
    assert values["new_device"] == 1 and values["new_ip"] == 1
    assert state.features(pay(minutes=1))["new_device"] == 0


def test_rejections_count_in_the_last_day():
    state = FeatureState()
    state.observe(pay(), "tx-1")
    state.observe_rejection("tx-1")
    state.observe(pay(minutes=1), "tx-2")
    state.close_payment("tx-2")
    state.observe_rejection("tx-2")  # closed: no longer counts
    assert state.features(pay(minutes=2))["rejections_24h"] == 1
    assert state.features(pay(minutes=60 * 25))["rejections_24h"] == 0


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2)


@settings(max_examples=40, deadline=None)
@given(
    before=st.lists(st.tuples(amounts, st.integers(0, 3)), max_size=8),
    tentative=st.lists(st.tuples(amounts, st.integers(0, 3)), min_size=1, max_size=8),
)
def test_rollback_restores_exactly_the_state_before_begin(before, tentative):
    """A unit of work observes its payments tentatively; rolling back leaves no trace."""
    parties = [DEBTOR, CREDITOR, OTHER, "NL91ABNA0417164300"]

    def observe_all(state, items, offset):
        for i, (amount, who) in enumerate(items):
            payment = pay(
                str(amount),
                minutes=offset + i,
                debtor=parties[who],
                creditor=parties[(who + 1) % 4],
            )
            state.observe(payment, f"tx-{offset + i}")
            if i % 3 == 0:
                state.observe_rejection(f"tx-{offset + i}")

    state, reference = FeatureState(), FeatureState()
    observe_all(state, before, 0)
    observe_all(reference, before, 0)
    state.begin()
    observe_all(state, tentative, 100)
    state.rollback()
    assert state.debtors == reference.debtors
    assert state.creditors == reference.creditors
    assert state.pairs == reference.pairs
    assert state.open_payments == reference.open_payments
    probe = pay("77.70", minutes=500)
    assert state.features(probe) == reference.features(probe)
