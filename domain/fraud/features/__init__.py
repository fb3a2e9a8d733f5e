"""Online fraud features from state kept incrementally, one payment at a time.

The same code serves online scoring, offline training and the skew check (the features
recorded with each decision equal the ones recomputed from the event log). Every value is
computed in O(1)-ish time from state kept per debtor, creditor and debtor->creditor pair
(24 h lists trimmed at each payment; decayed counters for longer spans), never by scanning
history. Features are floats rounded to six decimals: the model sees exactly the values that
are recorded (as decimal strings) with the decision.

Modules:

* :mod:`~domain.fraud.features.base`: the first twenty (velocity, amount vs mean, new
  creditor, mule fan-in, hour, cross-border, round, near threshold, new device/IP, rejections);
* :mod:`~domain.fraud.features.profile`: hour and weekday vs the debtor's own profile, new
  channel, amount per payee kind, 7 and 30 day decayed counters;
* :mod:`~domain.fraud.features.recurring`: escalation to the same payee, recurring payees;
* :mod:`~domain.fraud.features.graph`: bursts of debtors to one creditor, inbound graph,
  account ages, the payee-name check;
* :mod:`~domain.fraud.features.state`: :class:`FeatureState` and the order (``FEATURES``).

Record fields a data set (``adapters.fraud.dataset``) may carry beside the ingestion
message: ``payeeCheck`` (the VoP outcome the payer saw: MTCH, CMTC, NMTC, NOAP; absent = no
check) and, in ``customers.csv``, ``opened_at`` (ISO time the account was opened).
"""

from __future__ import annotations

from decimal import Decimal

from domain.fraud.features.common import PAYEE_CHECK_CODES, Payment, country
from domain.fraud.features.state import FEATURES, FeatureState

__all__ = [
    "FEATURES",
    "PAYEE_CHECK_CODES",
    "FeatureState",
    "Payment",
    "as_decimals",
    "country",
    "vector",
]


_PLAIN = frozenset("0123456789.-")


def _decimal_text(value: float) -> str:
    text = repr(value)
    if _PLAIN.issuperset(text):  # the common case, already what Decimal would print
        return text
    return format(Decimal(text), "f")  # 1e-06 -> 0.000001


def as_decimals(values: dict[str, float]) -> dict[str, str]:
    """Features as decimal strings, the form recorded in events."""
    return {name: _decimal_text(value) for name, value in values.items()}


def vector(values: dict[str, float], names: tuple[str, ...] = FEATURES) -> list[float]:
    """The values in the order of ``names`` (a model's own feature list)."""
    return [values[name] for name in names]
