"""The customer-relative features (#16): habits, recurring payees, the creditor's graph.

Each from a small hand-built history, with the value worked out by hand; and the undo
journal of a unit of work covers the new state too.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from application.fraud.payee import payee_check_outcome
from domain.fraud.features import FEATURES, FeatureState, Payment, as_decimals

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
DEBTOR = "DE89370400440532013000"
LANDLORD = "FR1420041010050500013M02606"
OTHER = "NL91ABNA0417164300"
SHOP = "DE02120300000000202051"


def pay(
    amount: str = "10.00",
    *,
    days: float = 0,
    hours: float = 0,
    debtor: str = DEBTOR,
    creditor: str = LANDLORD,
    channel: str = "MOBILE",
    payee_check: str = "",
) -> Payment:
    when = T0 + timedelta(days=days, hours=hours)
    meta = {"deviceId": "d-1", "ip": "1.2.3.4"}
    return Payment.of(
        debtor,
        creditor,
        Decimal(amount),
        when,
        meta,
        channel=channel,
        payee_check=payee_check,
    )


def test_hour_and_weekday_against_the_debtors_own_profile():
    state = FeatureState()
    assert state.features(pay())["hour_share"] == -1  # no history
    for day in range(3):  # three Mondays at 10:00, one Tuesday at 23:00
        state.observe(pay(days=7 * day))
    state.observe(pay(days=15, hours=13))
    usual = state.features(pay(days=21))
    night = state.features(pay(days=21, hours=-8))  # Monday 02:00
    assert usual["weekday"] == 0 and usual["hour_share"] > 0.7 and usual["weekday_share"] > 0.7
    assert night["hour_share"] == 0 and night["weekday_share"] == usual["weekday_share"]


def test_a_new_channel_only_for_a_debtor_with_history():
    state = FeatureState()
    assert state.features(pay(channel="WEB"))["new_channel"] == 0
    state.observe(pay(channel="mobile"))
    assert state.features(pay(hours=1, channel="MOBILE"))["new_channel"] == 0
    assert state.features(pay(hours=1, channel="WEB"))["new_channel"] == 1


def test_weekly_payments_of_a_stable_amount_make_a_recurring_payee():
    state = FeatureState()
    for week in range(3):
        values = state.features(pay("850.00", days=7 * week))
        assert values["recurring_payee"] == 0
        state.observe(pay("850.00", days=7 * week))
    on_time = state.features(pay("850.00", days=21))
    assert on_time["recurring_payee"] == 1 and on_time["payee_kind"] == 2
    assert on_time["recurring_gap_deviation"] == 0 and on_time["pair_amount_deviation"] == 0
    assert on_time["pair_payments"] == 3
    late = state.features(pay("1700.00", days=24.5))
    assert late["recurring_gap_deviation"] == 0.5 and late["pair_amount_deviation"] == 1
    # the landlord's amount to a new IBAN (invoice redirection) and another amount there
    assert state.features(pay("850.00", days=21, creditor=OTHER))["new_payee_recurring_amount"] == 1
    assert state.features(pay("400.00", days=21, creditor=OTHER))["new_payee_recurring_amount"] == 0


def test_irregular_payments_to_a_payee_are_not_recurring():
    state = FeatureState()
    for day in (0, 1, 9, 10):
        state.observe(pay("850.00", days=day))
    values = state.features(pay("850.00", days=17))
    assert values["recurring_payee"] == 0 and values["payee_kind"] == 1
    assert values["recurring_gap_deviation"] == -1


def test_escalating_amounts_to_the_same_new_payee():
    state = FeatureState()
    for day, amount in enumerate(("100.00", "300.00", "900.00")):
        state.observe(pay(amount, days=day, creditor=OTHER))
    values = state.features(pay("4500.00", days=3, creditor=OTHER))
    assert values["pair_payments"] == 3 and values["pair_increases"] == 2
    assert values["pair_amount_to_last"] == 5
    assert values["pair_days_since_first_log"] == round(math.log1p(3), 6)


def test_amount_against_the_debtors_amounts_to_the_same_kind_of_payee():
    state = FeatureState()
    for i, creditor in enumerate((SHOP, OTHER, LANDLORD, "FR7630006000011234567890189")):
        state.observe(pay(f"{10 + i}.00", hours=i, creditor=creditor))  # four new payees
    state.observe(pay("2000.00", hours=5, creditor=SHOP))  # a known payee
    new = state.features(pay("2000.00", hours=6, creditor="BE68539007547034"))
    assert new["payee_kind"] == 0 and new["amount_zscore_kind"] == 10.0
    assert new["amount_to_kind_mean"] == round(2000 / 11.5, 6)
    known = state.features(pay("2000.00", hours=6, creditor=SHOP))
    assert known["payee_kind"] == 1 and known["amount_to_kind_mean"] == 1


def test_decayed_7_and_30_day_counters():
    state = FeatureState()
    state.observe(pay("100.00"))
    values = state.features(pay(days=7))
    assert values["debtor_tx_7d"] == round(math.exp(-1), 6)
    assert values["debtor_tx_30d"] == round(math.exp(-7 / 30), 6)
    assert values["debtor_outflow_7d_log"] == round(math.log1p(100 * math.exp(-1)), 6)
    assert state.features(pay(hours=1))["outflow_24h_to_daily_30d"] == round(
        100 / (100 * math.exp(-1 / 720) / 30 + 1), 6
    )


def test_many_debtors_paying_one_creditor_small_amounts_within_minutes():
    state = FeatureState()
    debtors = [f"DE{n:02d}370400440532013000" for n in range(10, 16)]
    for i, debtor in enumerate(debtors):
        state.observe(pay("1.50", hours=i / 60, debtor=debtor, creditor=SHOP))
    state.observe(pay("1.50", hours=6 / 60, debtor=debtors[0], creditor=SHOP))  # returning
    values = state.features(pay("2.00", hours=7 / 60, creditor=SHOP))
    assert 5 < values["creditor_payers_1h"] < 6  # six distinct, decayed over minutes
    assert values["creditor_small_payers_1h"] == values["creditor_payers_1h"]
    assert 6 < values["creditor_tx_1h"] < 7
    assert values["creditor_new_payer_share"] == 1  # every payer is new to it
    assert state.features(pay(creditor=OTHER))["creditor_new_payer_share"] == -1


def test_account_ages_for_accounts_the_ledger_holds():
    state = FeatureState()
    state.observe_account(SHOP, (T0 - timedelta(days=3)).timestamp())
    state.observe_account(SHOP, T0.timestamp())  # a second opening does not rejuvenate it
    ours = state.features(pay(creditor=SHOP))
    assert ours["creditor_account_age_days_log"] == round(math.log1p(3), 6)
    assert ours["debtor_account_age_days_log"] == -1  # not an account the ledger holds


def test_payee_check_outcomes_from_the_screening_hits():
    assert payee_check_outcome(None, []) == ""
    assert payee_check_outcome("c", []) == "MTCH"
    assert payee_check_outcome("c", ["vop-check-other-payee", "vop-close-match"]) == "CMTC"
    assert payee_check_outcome("c", ["vop-no-match"]) == "NMTC"
    assert payee_check_outcome("c", ["vop-check-unknown"]) == "UNKNOWN"
    codes = [FeatureState().features(pay(payee_check=c))["payee_check"] for c in ("", "NMTC")]
    assert codes == [0, 5]


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2)


@settings(max_examples=40, deadline=None)
@given(
    before=st.lists(st.tuples(amounts, st.integers(0, 3), st.integers(0, 9)), max_size=8),
    tentative=st.lists(st.tuples(amounts, st.integers(0, 3), st.integers(0, 9)), min_size=1),
)
def test_rollback_restores_every_part_of_the_state(before, tentative):
    parties = [DEBTOR, LANDLORD, OTHER, SHOP]

    def observe_all(state, items, offset):
        for i, (amount, who, days) in enumerate(items):
            state.observe_account(parties[(who + 2) % 4], float(offset + i))
            state.observe(
                pay(
                    str(amount),
                    days=offset + days,
                    debtor=parties[who],
                    creditor=parties[(who + 1) % 4],
                )
            )

    state, reference = FeatureState(), FeatureState()
    observe_all(state, before, 0)
    observe_all(reference, before, 0)
    state.begin()
    observe_all(state, tentative, 10)
    state.rollback()
    assert (state.pairs, state.profiles, state.inbound, state.opened) == (
        reference.pairs,
        reference.profiles,
        reference.inbound,
        reference.opened,
    )
    probe = pay("77.70", days=30)
    assert list(state.features(probe)) == list(FEATURES)
    assert state.features(probe) == reference.features(probe)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_decimal_strings_are_what_decimal_prints(value):
    rounded = round(value, 6)
    assert as_decimals({"x": rounded}) == {"x": format(Decimal(repr(rounded)), "f")}
