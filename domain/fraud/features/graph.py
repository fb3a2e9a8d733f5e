"""The creditor's side: bursts of many debtors, its inbound graph, account ages, VoP.

Per creditor (:class:`Inbound`), decayed counters (no history kept):

* ``creditor_payers_1h`` / ``_24h``: debtors paying it who had not paid it within that span
  (an estimate of the distinct debtors in the span; time constants 1 h and 24 h), and
  ``creditor_small_payers_1h`` the same for payments of at most 10 (card testing spread over
  many cards or accounts), ``creditor_tx_1h`` all its payments;
* ``creditor_new_debtors_7d``: debtors paying it for the first time ever (time constant
  7 days) and ``creditor_new_payer_share``, their share of its 7-day payers (a mule collects
  from people who never paid it before; a shop or landlord mostly from returning ones; -1
  for a creditor never paid);
* ``creditor_regular_payers``: how many debtors pay it as a recurring payee (log).

Account ages (``creditor_account_age_days_log``, ``debtor_account_age_days_log``): for an
account the ledger holds, the time since its ``Account.Opened`` event; -1 for an account
the ledger does not hold (another bank's), whose age is unknown.

``payee_check``: the Verification of Payee outcome the payer saw (see
:data:`~domain.fraud.features.common.PAYEE_CHECK_CODES`): a fact of the payment, no state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.fraud.features.common import (
    DAY,
    HOUR,
    PAYEE_CHECK_CODES,
    SMALL_AMOUNT,
    WEEK,
    ZERO,
    Decayed,
    Payment,
    bump,
    decayed,
    log_days,
)
from domain.fraud.features.recurring import Pair

NAMES: tuple[str, ...] = (
    "creditor_payers_1h",
    "creditor_payers_24h",
    "creditor_small_payers_1h",
    "creditor_tx_1h",
    "creditor_new_debtors_7d",
    "creditor_new_payer_share",
    "creditor_regular_payers",
    "creditor_account_age_days_log",
    "debtor_account_age_days_log",
    "payee_check",
)


@dataclass(frozen=True, slots=True)
class Inbound:
    payers_1h: Decayed = ZERO
    payers_24h: Decayed = ZERO
    small_1h: Decayed = ZERO
    tx_1h: Decayed = ZERO
    new_7d: Decayed = ZERO
    payers_7d: Decayed = ZERO
    regular_payers: int = 0


def graph_features(
    payment: Payment,
    inbound: Inbound | None,
    creditor_opened: float | None,
    debtor_opened: float | None,
) -> dict[str, float]:
    now = payment.at
    into = inbound or Inbound()
    payers_7d = decayed(into.payers_7d, now, WEEK)
    new_7d = decayed(into.new_7d, now, WEEK)
    return {
        "creditor_payers_1h": decayed(into.payers_1h, now, HOUR),
        "creditor_payers_24h": decayed(into.payers_24h, now, DAY),
        "creditor_small_payers_1h": decayed(into.small_1h, now, HOUR),
        "creditor_tx_1h": decayed(into.tx_1h, now, HOUR),
        "creditor_new_debtors_7d": new_7d,
        "creditor_new_payer_share": min(new_7d / payers_7d, 1.0) if payers_7d > 0 else -1.0,
        "creditor_regular_payers": math.log1p(into.regular_payers),
        "creditor_account_age_days_log": log_days(
            None if creditor_opened is None else now - creditor_opened
        ),
        "debtor_account_age_days_log": log_days(
            None if debtor_opened is None else now - debtor_opened
        ),
        "payee_check": PAYEE_CHECK_CODES.get(payment.payee_check, PAYEE_CHECK_CODES["UNKNOWN"]),
    }


def next_inbound(
    inbound: Inbound | None, payment: Payment, pair: Pair | None, became_recurring: bool
) -> Inbound:
    """``inbound`` with ``payment`` folded in; ``pair`` is the debtor's pair before it."""
    now = payment.at
    into = inbound or Inbound()
    since = None if pair is None else now - pair.last

    def returning_within(span: float) -> bool:
        return since is not None and since <= span

    small = float(payment.amount) <= SMALL_AMOUNT
    return Inbound(
        into.payers_1h if returning_within(HOUR) else bump(into.payers_1h, now, HOUR),
        into.payers_24h if returning_within(DAY) else bump(into.payers_24h, now, DAY),
        into.small_1h if not small or returning_within(HOUR) else bump(into.small_1h, now, HOUR),
        bump(into.tx_1h, now, HOUR),
        into.new_7d if pair is not None else bump(into.new_7d, now, WEEK),
        into.payers_7d if returning_within(WEEK) else bump(into.payers_7d, now, WEEK),
        into.regular_payers + int(became_recurring),
    )
