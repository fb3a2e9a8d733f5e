"""The first twenty features: velocity over 1 h and 24 h, amount against the debtor's running
mean, new creditor, mule fan-in over 24 h, hour, cross-border, round and near-threshold
amounts, new device and IP, rejections.

Per debtor (:class:`DebtorState`) the times and amounts of the last 24 h are kept (trimmed at
every payment), per creditor (:class:`CreditorState`) the times of first payments by new
debtors in the last 24 h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.fraud.features.common import (
    DAY,
    HOUR,
    MONTH,
    NEAR_THRESHOLD,
    REPORTING_THRESHOLD,
    ROUND_UNIT,
    Payment,
    country,
    trim,
    welford,
    window,
    zscore,
)

NAMES: tuple[str, ...] = (
    "amount_log",
    "debtor_tx_1h",
    "debtor_tx_24h",
    "debtor_outflow_24h_log",
    "debtor_history",
    "amount_zscore",
    "amount_to_mean",
    "first_to_creditor",
    "creditor_new",
    "creditor_new_debtors_24h",
    "debtor_new_payers_24h",
    "seconds_since_debtor_received_log",
    "hour",
    "cross_border",
    "round_amount",
    "near_threshold",
    "debtor_near_threshold_24h",
    "new_device",
    "new_ip",
    "rejections_24h",
)


@dataclass(frozen=True, slots=True)
class DebtorState:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    times: tuple[float, ...] = ()
    """Times of the debtor's payments in the last 24 h (oldest first)."""
    amounts: tuple[float, ...] = ()
    """Amounts of those payments (parallel to ``times``)."""
    devices: frozenset[str] = frozenset()
    ips: frozenset[str] = frozenset()
    rejections: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class CreditorState:
    distinct_debtors: int = 0
    new_debtor_times: tuple[float, ...] = ()
    """Times at which a debtor paid this creditor for the first time, last 24 h."""
    last_received: float | None = None


_NEAR_LOW = float(REPORTING_THRESHOLD * NEAR_THRESHOLD)
_NEAR_HIGH = float(REPORTING_THRESHOLD)


def near_threshold(amount: float) -> bool:
    return _NEAR_LOW <= amount < _NEAR_HIGH


def base_features(
    payment: Payment,
    debtor: DebtorState,
    creditor: CreditorState | None,
    as_creditor: CreditorState | None,
    first_to_creditor: bool,
) -> tuple[dict[str, float], float]:
    """The twenty features, and the debtor's 24 h outflow (other modules use it)."""
    now = payment.at
    amount = float(payment.amount)
    to_mean = amount / debtor.mean if debtor.count and debtor.mean > 0 else 1.0
    start = now - DAY
    recent = [a for t, a in zip(debtor.times, debtor.amounts, strict=True) if start < t <= now]
    outflow = sum(recent)
    if as_creditor is not None and as_creditor.last_received is not None:
        since_log = math.log1p(max(0.0, now - as_creditor.last_received))
    else:
        since_log = math.log1p(MONTH)
    values = {
        "amount_log": math.log1p(amount),
        "debtor_tx_1h": float(window(debtor.times, now, HOUR)),
        "debtor_tx_24h": float(window(debtor.times, now, DAY)),
        "debtor_outflow_24h_log": math.log1p(outflow),
        "debtor_history": float(min(debtor.count, 1000)),
        "amount_zscore": zscore(debtor.count, debtor.mean, debtor.m2, amount),
        "amount_to_mean": min(to_mean, 1000.0),
        "first_to_creditor": float(first_to_creditor),
        "creditor_new": float(creditor is None),
        "creditor_new_debtors_24h": float(
            window(creditor.new_debtor_times, now, DAY) if creditor else 0
        ),
        "debtor_new_payers_24h": float(
            window(as_creditor.new_debtor_times, now, DAY) if as_creditor else 0
        ),
        "seconds_since_debtor_received_log": since_log,
        "hour": float(int((now % DAY) // HOUR)),  # UTC hour of day
        "cross_border": float(country(payment.debtor) != country(payment.creditor)),
        "round_amount": float(payment.amount % ROUND_UNIT == 0),
        "near_threshold": float(near_threshold(amount)),
        "debtor_near_threshold_24h": float(sum(1 for a in recent if near_threshold(a))),
        "new_device": float(
            debtor.count > 0 and bool(payment.device) and payment.device not in debtor.devices
        ),
        "new_ip": float(debtor.count > 0 and bool(payment.ip) and payment.ip not in debtor.ips),
        "rejections_24h": float(window(debtor.rejections, now, DAY)),
    }
    return values, outflow


def next_debtor(debtor: DebtorState, payment: Payment) -> DebtorState:
    now = payment.at
    amount = float(payment.amount)
    count, mean, m2 = welford(debtor.count, debtor.mean, debtor.m2, amount)
    keep = trim(debtor.times, now)
    rejections = debtor.rejections[trim(debtor.rejections, now) :]
    times = (*debtor.times[keep:], now)
    amounts = (*debtor.amounts[keep:], amount)
    devices = debtor.devices | {payment.device} if payment.device else debtor.devices
    ips = debtor.ips | {payment.ip} if payment.ip else debtor.ips
    return DebtorState(count, mean, m2, times, amounts, devices, ips, rejections)


def next_creditor(creditor: CreditorState, now: float, new_debtor: bool) -> CreditorState:
    new_times = creditor.new_debtor_times[trim(creditor.new_debtor_times, now) :]
    distinct = creditor.distinct_debtors
    if new_debtor:
        distinct += 1
        new_times = (*new_times, now)
    return CreditorState(distinct, new_times, now)


def with_rejection(debtor: DebtorState, at: float) -> DebtorState:
    rejections = (*debtor.rejections[trim(debtor.rejections, at) :], at)
    return DebtorState(
        debtor.count,
        debtor.mean,
        debtor.m2,
        debtor.times,
        debtor.amounts,
        debtor.devices,
        debtor.ips,
        rejections,
    )
