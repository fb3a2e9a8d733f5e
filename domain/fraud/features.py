"""Online fraud features from state kept incrementally, one payment at a time.

:class:`FeatureState` holds, per debtor and per creditor, just enough to answer
the features of the next payment in O(1)-ish time (windows are trimmed to 24 h):

* velocity of the debtor over 1 h and 24 h, and the debtor's 24 h outflow;
* the debtor's amounts as a running mean and deviation (Welford's algorithm);
* first payment from this debtor to this creditor; creditor never seen before;
* mule fan-in: how many *new* debtors paid the creditor in the last 24 h (and,
  for a fan-out from a mule, how many new debtors paid the debtor);
* hour of day, cross-border (IBAN countries), round amounts, amounts just below
  the reporting threshold;
* new device / new IP for the debtor; the debtor's rejections in the last 24 h.

The same code serves both online scoring and offline training and the skew
check: :meth:`FeatureState.features` reads the state *before* a payment,
:meth:`FeatureState.observe` then folds the payment in and
:meth:`FeatureState.observe_rejection` records a rejection.

Every change goes through :meth:`FeatureState._put`, which can keep an undo
journal: a unit of work observes its payments tentatively (later payments of a
batch see earlier ones) and :meth:`FeatureState.rollback` drops them again.
Values in the dictionaries are immutable, so undo is restoring a reference.

Features are floats rounded to six decimals: the model sees exactly the values
that are recorded (as decimal strings) with the decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

HOUR = 3600.0
DAY = 86400.0
REPORTING_THRESHOLD = Decimal(10000)
NEAR_THRESHOLD = Decimal("0.9")
ROUND_UNIT = Decimal(100)

FEATURES: tuple[str, ...] = (
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
"""The feature names, in the order the model sees them."""

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Payment:
    """What the features need to know of one payment."""

    debtor: str
    creditor: str
    amount: Decimal
    at: float
    """When the ledger recorded the payment, in seconds since the epoch (UTC)."""
    device: str = ""
    ip: str = ""

    @staticmethod
    def of(
        debtor: str,
        creditor: str,
        amount: Decimal,
        at: datetime,
        metadata: dict[str, Any] | None = None,
    ) -> Payment:
        meta = metadata or {}
        return Payment(
            debtor=debtor,
            creditor=creditor,
            amount=amount,
            at=at.timestamp(),
            device=str(meta.get("deviceId") or ""),
            ip=str(meta.get("ip") or ""),
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


def _window(times: tuple[float, ...], now: float, span: float) -> int:
    start = now - span
    return sum(1 for t in times if start < t <= now)


def _trim(times: tuple[float, ...], now: float) -> int:
    """Index of the first entry inside the 24 h window ending at ``now``."""
    start = now - DAY
    i = 0
    while i < len(times) and times[i] <= start:
        i += 1
    return i


def country(iban: str) -> str:
    return iban[:2].upper()


def _r(value: float) -> float:
    return round(value, 6)


class FeatureState:
    """Per-debtor and per-creditor state, updated payment by payment."""

    def __init__(self) -> None:
        self.debtors: dict[str, DebtorState] = {}
        self.creditors: dict[str, CreditorState] = {}
        self.pairs: dict[tuple[str, str], int] = {}
        self.open_payments: dict[str, tuple[str, float]] = {}
        """Transaction id -> (debtor, time), for payments whose rejection may still come."""
        self._journal: list[tuple[dict[Any, Any], Any, Any]] | None = None

    # -- journal ---------------------------------------------------------------------

    def begin(self) -> None:
        """Start journalling changes so that :meth:`rollback` can undo them."""
        self._journal = []

    def rollback(self) -> None:
        """Undo every change since :meth:`begin` and stop journalling."""
        journal = self._journal or []
        self._journal = None
        for mapping, key, old in reversed(journal):
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old

    @property
    def journalling(self) -> bool:
        return self._journal is not None

    def _put(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        if self._journal is not None:
            self._journal.append((mapping, key, mapping.get(key, _MISSING)))
        if value is _MISSING:
            mapping.pop(key, None)
        else:
            mapping[key] = value

    # -- features --------------------------------------------------------------------

    def features(self, payment: Payment) -> dict[str, float]:
        """The features of ``payment`` from the state before it (nothing is changed)."""
        now = payment.at
        amount = float(payment.amount)
        debtor = self.debtors.get(payment.debtor) or DebtorState()
        creditor = self.creditors.get(payment.creditor)
        as_creditor = self.creditors.get(payment.debtor)
        if debtor.count >= 2:
            std = math.sqrt(debtor.m2 / (debtor.count - 1))
            if std > 0:
                zscore = (amount - debtor.mean) / std
            else:
                zscore = 0.0 if amount == debtor.mean else 10.0
            zscore = max(-10.0, min(10.0, zscore))
        else:
            zscore = 0.0
        to_mean = amount / debtor.mean if debtor.count and debtor.mean > 0 else 1.0
        start = now - DAY
        recent = [a for t, a in zip(debtor.times, debtor.amounts, strict=True) if start < t <= now]
        outflow = sum(recent)
        near = sum(1 for a in recent if _near_threshold(a))
        if as_creditor is not None and as_creditor.last_received is not None:
            since = max(0.0, now - as_creditor.last_received)
            since_log = math.log1p(since)
        else:
            since_log = math.log1p(30 * DAY)
        hour = int((now % DAY) // HOUR)  # UTC hour of day
        values = {
            "amount_log": math.log1p(amount),
            "debtor_tx_1h": float(_window(debtor.times, now, HOUR)),
            "debtor_tx_24h": float(_window(debtor.times, now, DAY)),
            "debtor_outflow_24h_log": math.log1p(outflow),
            "debtor_history": float(min(debtor.count, 1000)),
            "amount_zscore": zscore,
            "amount_to_mean": min(to_mean, 1000.0),
            "first_to_creditor": float((payment.debtor, payment.creditor) not in self.pairs),
            "creditor_new": float(creditor is None),
            "creditor_new_debtors_24h": float(
                _window(creditor.new_debtor_times, now, DAY) if creditor else 0
            ),
            "debtor_new_payers_24h": float(
                _window(as_creditor.new_debtor_times, now, DAY) if as_creditor else 0
            ),
            "seconds_since_debtor_received_log": since_log,
            "hour": float(hour),
            "cross_border": float(country(payment.debtor) != country(payment.creditor)),
            "round_amount": float(payment.amount % ROUND_UNIT == 0),
            "near_threshold": float(_near_threshold(amount)),
            "debtor_near_threshold_24h": float(near),
            "new_device": float(
                debtor.count > 0 and bool(payment.device) and payment.device not in debtor.devices
            ),
            "new_ip": float(debtor.count > 0 and bool(payment.ip) and payment.ip not in debtor.ips),
            "rejections_24h": float(_window(debtor.rejections, now, DAY)),
        }
        return {name: _r(values[name]) for name in FEATURES}

    # -- updates ---------------------------------------------------------------------

    def observe(self, payment: Payment, transaction_id: str | None = None) -> None:
        """Fold ``payment`` into the state (after its features were read)."""
        now = payment.at
        amount = float(payment.amount)
        debtor = self.debtors.get(payment.debtor) or DebtorState()
        count = debtor.count + 1
        delta = amount - debtor.mean
        mean = debtor.mean + delta / count
        m2 = debtor.m2 + delta * (amount - mean)
        keep = _trim(debtor.times, now)
        rejections = debtor.rejections[_trim(debtor.rejections, now) :]
        times = (*debtor.times[keep:], now)
        amounts = (*debtor.amounts[keep:], amount)
        devices = debtor.devices | {payment.device} if payment.device else debtor.devices
        ips = debtor.ips | {payment.ip} if payment.ip else debtor.ips
        self._put(
            self.debtors,
            payment.debtor,
            DebtorState(count, mean, m2, times, amounts, devices, ips, rejections),
        )
        pair = (payment.debtor, payment.creditor)
        seen = self.pairs.get(pair, 0)
        self._put(self.pairs, pair, seen + 1)
        creditor = self.creditors.get(payment.creditor) or CreditorState()
        new_times = creditor.new_debtor_times[_trim(creditor.new_debtor_times, now) :]
        distinct = creditor.distinct_debtors
        if seen == 0:
            distinct += 1
            new_times = (*new_times, now)
        self._put(self.creditors, payment.creditor, CreditorState(distinct, new_times, now))
        if transaction_id is not None:
            self._put(self.open_payments, transaction_id, (payment.debtor, now))

    def observe_rejection(self, transaction_id: str) -> None:
        """The payment ``transaction_id`` was rejected; it counts at the payment's own time
        (the clock every other feature uses), whenever the rejection was recorded."""
        open_payment = self.open_payments.get(transaction_id)
        if open_payment is None:
            return
        debtor_key, at = open_payment
        self._put(self.open_payments, transaction_id, _MISSING)
        debtor = self.debtors.get(debtor_key) or DebtorState()
        rejections = (*debtor.rejections[_trim(debtor.rejections, at) :], at)
        self._put(
            self.debtors,
            debtor_key,
            DebtorState(
                debtor.count,
                debtor.mean,
                debtor.m2,
                debtor.times,
                debtor.amounts,
                debtor.devices,
                debtor.ips,
                rejections,
            ),
        )

    def close_payment(self, transaction_id: str) -> None:
        """The payment ``transaction_id`` reached a final state other than rejection."""
        if transaction_id in self.open_payments:
            self._put(self.open_payments, transaction_id, _MISSING)


_NEAR_LOW = float(REPORTING_THRESHOLD * NEAR_THRESHOLD)
_NEAR_HIGH = float(REPORTING_THRESHOLD)


def _near_threshold(amount: float) -> bool:
    return _NEAR_LOW <= amount < _NEAR_HIGH


def as_decimals(values: dict[str, float]) -> dict[str, str]:
    """Features as decimal strings, the form recorded in events."""
    return {name: format(Decimal(repr(value)), "f") for name, value in values.items()}


def vector(values: dict[str, float]) -> list[float]:
    """The values in model order."""
    return [values[name] for name in FEATURES]
