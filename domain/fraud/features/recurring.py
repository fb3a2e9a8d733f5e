"""Debtor -> creditor pairs: escalating amounts to a new payee and recurring-payee recognition.

Per pair (:class:`Pair`) the count, the first and last payment, the last amount, how many
payments in a row were larger than the one before, and running means and deviations
(Welford) of the amounts and of the intervals between payments.

A pair is *recurring* (:func:`recurring`) once it was paid at least three times at a regular
interval (the intervals' deviation at most 30 % of their mean, which is at least three
days): standing orders, payroll, rent, supplier bills. Those are a population of their own:
a stable amount on schedule to a recurring payee is normal whatever its size, while a new
payee receiving the usual amount of a recurring one (``new_payee_recurring_amount``) is the
pattern of invoice redirection. A creditor that many customers pay regularly is a merchant,
utility or employer (``creditor_regular_payers``, kept per creditor in
:mod:`domain.fraud.features.graph`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.fraud.features.common import DAY, Payment, log_days, ratio, welford

NAMES: tuple[str, ...] = (
    "pair_payments",
    "pair_amount_to_last",
    "pair_increases",
    "pair_days_since_first_log",
    "recurring_payee",
    "recurring_gap_deviation",
    "pair_amount_deviation",
    "new_payee_recurring_amount",
)

MIN_PAYMENTS = 3
MIN_INTERVAL = 3 * DAY
MAX_INTERVAL_CV = 0.3
SAME_AMOUNT = 0.02
"""Relative distance under which an amount is "the usual amount" of a recurring payee."""
RECURRING_AMOUNTS = 8
"""How many recurring payees' amounts are remembered per debtor."""


@dataclass(frozen=True, slots=True)
class Pair:
    count: int = 0
    first: float = 0.0
    last: float = 0.0
    last_amount: float = 0.0
    increases: int = 0
    """Payments in a row, up to the last one, each larger than the one before."""
    amount_mean: float = 0.0
    amount_m2: float = 0.0
    gap_mean: float = 0.0
    gap_m2: float = 0.0
    """Running mean and squared deviations of the ``count - 1`` intervals."""


def recurring(pair: Pair | None) -> bool:
    if pair is None or pair.count < MIN_PAYMENTS or pair.gap_mean < MIN_INTERVAL:
        return False
    gaps = pair.count - 1
    std = math.sqrt(pair.gap_m2 / (gaps - 1)) if gaps > 1 else 0.0
    return std <= MAX_INTERVAL_CV * pair.gap_mean


def recurring_features(
    payment: Payment, pair: Pair | None, recurring_amounts: tuple[tuple[str, float], ...]
) -> dict[str, float]:
    now = payment.at
    amount = float(payment.amount)
    regular = recurring(pair)
    if pair is None:
        usual = any(abs(amount - usual) <= SAME_AMOUNT * usual for _, usual in recurring_amounts)
        return {
            "pair_payments": 0.0,
            "pair_amount_to_last": 0.0,
            "pair_increases": 0.0,
            "pair_days_since_first_log": -1.0,
            "recurring_payee": 0.0,
            "recurring_gap_deviation": -1.0,
            "pair_amount_deviation": -1.0,
            "new_payee_recurring_amount": float(usual),
        }
    gap = max(0.0, now - pair.last)
    return {
        "pair_payments": float(min(pair.count, 1000)),
        "pair_amount_to_last": ratio(amount, pair.last_amount),
        "pair_increases": float(min(pair.increases, 100)),
        "pair_days_since_first_log": log_days(now - pair.first),
        "recurring_payee": float(regular),
        "recurring_gap_deviation": (
            min(abs(gap - pair.gap_mean) / pair.gap_mean, 100.0) if regular else -1.0
        ),
        "pair_amount_deviation": ratio(abs(amount - pair.amount_mean), pair.amount_mean, -1.0),
        "new_payee_recurring_amount": 0.0,
    }


def next_pair(pair: Pair | None, payment: Payment) -> Pair:
    now = payment.at
    amount = float(payment.amount)
    if pair is None:
        return Pair(1, now, now, amount, 0, amount, 0.0, 0.0, 0.0)
    count, amount_mean, amount_m2 = welford(pair.count, pair.amount_mean, pair.amount_m2, amount)
    _, gap_mean, gap_m2 = welford(
        pair.count - 1, pair.gap_mean, pair.gap_m2, max(0.0, now - pair.last)
    )
    increases = pair.increases + 1 if amount > pair.last_amount else 0
    return Pair(count, pair.first, now, amount, increases, amount_mean, amount_m2, gap_mean, gap_m2)


def next_recurring_amounts(
    amounts: tuple[tuple[str, float], ...], creditor: str, pair: Pair
) -> tuple[tuple[str, float], ...]:
    """The debtor's recurring payees' usual amounts with ``pair`` (to ``creditor``) updated."""
    others = tuple(item for item in amounts if item[0] != creditor)
    if not recurring(pair):
        return others
    return (*others, (creditor, pair.amount_mean))[-RECURRING_AMOUNTS:]
