"""The debtor's own habits: hour and weekday profile, channels, amounts per payee kind,
and 7 and 30 day activity as decayed counters.

Per debtor (:class:`Profile`):

* decayed counts of its payments per 4-hour band of the (UTC) day and per weekday (time
  constant 60 days): ``hour_share`` and ``weekday_share`` are the shares of its past
  payments in this payment's band and weekday (-1 without history), so a payment at an
  hour the customer never pays stands out whatever the customer's rhythm;
* the channels it used (``new_channel``: first payment on this channel);
* running mean and deviation of its amounts per payee kind (new payee, known payee,
  recurring payee, see :mod:`domain.fraud.features.recurring`): a large amount to a
  recurring payee (rent, supplier) is normal, the same to a new payee is not;
* decayed payment counts and outflow with time constants 7 and 30 days (an O(1) update,
  no history kept) and the last 24 h outflow against the 30 day daily average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.fraud.features.common import (
    DAY,
    HOUR,
    MONTH,
    WEEK,
    ZERO,
    Decayed,
    Payment,
    bump,
    decayed,
    welford,
    zscore,
)

NAMES: tuple[str, ...] = (
    "weekday",
    "hour_share",
    "weekday_share",
    "new_channel",
    "debtor_devices",
    "payee_kind",
    "amount_zscore_kind",
    "amount_to_kind_mean",
    "debtor_tx_7d",
    "debtor_tx_30d",
    "debtor_outflow_7d_log",
    "debtor_outflow_30d_log",
    "outflow_24h_to_daily_30d",
)

PROFILE_TAU = 60 * DAY
BANDS = 6
BAND = 24 * HOUR / BANDS
NEW_PAYEE, KNOWN_PAYEE, RECURRING_PAYEE = 0, 1, 2
Welford = tuple[int, float, float]


@dataclass(frozen=True, slots=True)
class Profile:
    bands: tuple[float, ...] = (0.0,) * BANDS
    weekdays: tuple[float, ...] = (0.0,) * 7
    at: float = 0.0
    """When ``bands`` and ``weekdays`` were last decayed."""
    channels: frozenset[str] = frozenset()
    kinds: tuple[Welford, Welford, Welford] = ((0, 0.0, 0.0),) * 3
    tx_7d: Decayed = ZERO
    tx_30d: Decayed = ZERO
    out_7d: Decayed = ZERO
    out_30d: Decayed = ZERO
    recurring_amounts: tuple[tuple[str, float], ...] = ()
    """(creditor, usual amount) of the debtor's recurring payees."""


def band(now: float) -> int:
    return int((now % DAY) // BAND)


def weekday(now: float) -> int:
    return int((now // DAY + 3) % 7)  # 1970-01-01 was a Thursday; Monday = 0


def _share(counts: tuple[float, ...], index: int) -> float:
    total = sum(counts)
    return counts[index] / total if total > 0 else -1.0


def profile_features(
    payment: Payment,
    profile: Profile,
    history: int,
    devices: int,
    kind: int,
    outflow_24h: float,
) -> dict[str, float]:
    now = payment.at
    amount = float(payment.amount)
    count, mean, m2 = profile.kinds[kind]
    out_30d = decayed(profile.out_30d, now, MONTH)
    return {
        "weekday": float(weekday(now)),
        "hour_share": _share(profile.bands, band(now)),
        "weekday_share": _share(profile.weekdays, weekday(now)),
        "new_channel": float(
            history > 0 and bool(payment.channel) and payment.channel not in profile.channels
        ),
        "debtor_devices": float(min(devices, 100)),
        "payee_kind": float(kind),
        "amount_zscore_kind": zscore(count, mean, m2, amount),
        "amount_to_kind_mean": min(amount / mean, 1000.0) if count and mean > 0 else -1.0,
        "debtor_tx_7d": decayed(profile.tx_7d, now, WEEK),
        "debtor_tx_30d": decayed(profile.tx_30d, now, MONTH),
        "debtor_outflow_7d_log": math.log1p(decayed(profile.out_7d, now, WEEK)),
        "debtor_outflow_30d_log": math.log1p(out_30d),
        "outflow_24h_to_daily_30d": min(outflow_24h / (out_30d / 30.0 + 1.0), 1000.0),
    }


def next_profile(
    profile: Profile,
    payment: Payment,
    kind: int,
    recurring_amounts: tuple[tuple[str, float], ...],
) -> Profile:
    now = payment.at
    amount = float(payment.amount)
    factor = math.exp((profile.at - now) / PROFILE_TAU) if now > profile.at else 1.0
    at = max(now, profile.at)
    hour_band, day = band(now), weekday(now)
    bands = tuple(
        c * factor + (1.0 if i == hour_band else 0.0) for i, c in enumerate(profile.bands)
    )
    weekdays = tuple(
        c * factor + (1.0 if i == day else 0.0) for i, c in enumerate(profile.weekdays)
    )
    channels = (
        profile.channels | {payment.channel}
        if payment.channel and payment.channel not in profile.channels
        else profile.channels
    )
    kinds = list(profile.kinds)
    kinds[kind] = welford(*profile.kinds[kind], amount)
    return Profile(
        bands,
        weekdays,
        at,
        channels,
        (kinds[0], kinds[1], kinds[2]),
        bump(profile.tx_7d, now, WEEK),
        bump(profile.tx_30d, now, MONTH),
        bump(profile.out_7d, now, WEEK, amount),
        bump(profile.out_30d, now, MONTH, amount),
        recurring_amounts,
    )
