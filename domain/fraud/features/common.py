"""What every feature module shares: the :class:`Payment`, time spans, window and decay helpers.

A *decayed counter* is a ``(value, at)`` pair: the value at time ``at``, which fades as
``exp(-dt / tau)``. Reading it at ``now`` or bumping it is O(1) and needs no history; the
same float operations in the same order give the same value online and offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY
MONTH = 30 * DAY
REPORTING_THRESHOLD = Decimal(10000)
NEAR_THRESHOLD = Decimal("0.9")
ROUND_UNIT = Decimal(100)
SMALL_AMOUNT = 10.0
"""At or below: a payment of the size card testers try a stolen card with."""

PAYEE_CHECK_CODES: dict[str, float] = {
    "": 0.0,  # the payer saw no Verification of Payee check
    "MTCH": 1.0,
    "NOAP": 2.0,
    "UNKNOWN": 3.0,  # a check id that could not be read (or not one of our payers')
    "CMTC": 4.0,
    "NMTC": 5.0,
}
"""The payee-name check the payer saw, as the ``payee_check`` feature (higher = riskier)."""

Decayed = tuple[float, float]
"""``(value, at)``: a counter that fades exponentially from time ``at``."""
ZERO: Decayed = (0.0, 0.0)


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
    channel: str = ""
    """The channel code the payment came in on (``Transaction.Received.channel``)."""
    payee_check: str = ""
    """The VoP outcome the payer saw: MTCH, CMTC, NMTC, NOAP, UNKNOWN, or "" for none.
    It is a fact of this payment only (no state): online from the screening's lookup,
    offline from the recorded screening's ``vop-*`` rule hits (or a simulator record's
    ``payeeCheck`` field)."""

    @staticmethod
    def of(
        debtor: str,
        creditor: str,
        amount: Decimal,
        at: datetime,
        metadata: dict[str, Any] | None = None,
        *,
        channel: str = "",
        payee_check: str = "",
    ) -> Payment:
        meta = metadata or {}
        return Payment(
            debtor=debtor,
            creditor=creditor,
            amount=amount,
            at=at.timestamp(),
            device=str(meta.get("deviceId") or ""),
            ip=str(meta.get("ip") or ""),
            channel=channel.upper(),
            payee_check=payee_check,
        )


def window(times: tuple[float, ...], now: float, span: float) -> int:
    start = now - span
    return sum(1 for t in times if start < t <= now)


def trim(times: tuple[float, ...], now: float) -> int:
    """Index of the first entry inside the 24 h window ending at ``now``."""
    start = now - DAY
    i = 0
    while i < len(times) and times[i] <= start:
        i += 1
    return i


def country(iban: str) -> str:
    return iban[:2].upper()


def decayed(counter: Decayed, now: float, tau: float) -> float:
    """The counter's value at ``now`` (never grows when the clock steps back)."""
    value, at = counter
    if value == 0.0 or now <= at:
        return value
    return value * math.exp((at - now) / tau)


def bump(counter: Decayed, now: float, tau: float, by: float = 1.0) -> Decayed:
    """The counter at ``now`` plus ``by``."""
    return (decayed(counter, now, tau) + by, max(now, counter[1]))


def welford(count: int, mean: float, m2: float, x: float) -> tuple[int, float, float]:
    """Running mean and sum of squared deviations with ``x`` folded in."""
    count += 1
    delta = x - mean
    mean += delta / count
    return count, mean, m2 + delta * (x - mean)


def zscore(count: int, mean: float, m2: float, x: float) -> float:
    """``x`` against a running distribution, clipped to +-10 (0 under two values)."""
    if count < 2:
        return 0.0
    std = math.sqrt(m2 / (count - 1))
    if std == 0:
        return 0.0 if x == mean else 10.0
    z = (x - mean) / std
    return max(-10.0, min(10.0, z))


def log_days(seconds: float | None) -> float:
    """``log1p`` of a duration in days; -1 when there is none (unknown)."""
    if seconds is None:
        return -1.0
    return math.log1p(max(0.0, seconds) / DAY)


def ratio(x: float, y: float, none: float = 0.0, cap: float = 1000.0) -> float:
    return min(x / y, cap) if y > 0 else none
