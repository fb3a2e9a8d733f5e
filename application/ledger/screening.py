"""Rules-only screening: per-transaction and per-day amount limits.

It serves behind the :class:`~application.ledger.ports.Screening` port until the fraud
model lands. Limits are per currency; a currency without a configured limit is
not limited by that rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from application.ports import ScreeningDecision, ScreeningRequest
from domain.ledger.transactions import ScreeningOutcome


@dataclass(frozen=True)
class AmountLimits:
    """Limits per currency code.

    * ``review_above``: a single payment above this is held for review;
    * ``decline_above``: a single payment above this is declined;
    * ``daily_limit``: a payment that would take the debtor's outflow of the
      day above this is declined.
    """

    review_above: dict[str, Decimal] = field(default_factory=dict)
    decline_above: dict[str, Decimal] = field(default_factory=dict)
    daily_limit: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def parse(cls, review: str = "", decline: str = "", daily: str = "") -> AmountLimits:
        """Build from settings strings like ``"EUR:10000,USD:12000"``."""
        return cls(_parse_map(review), _parse_map(decline), _parse_map(daily))


def _parse_map(text: str) -> dict[str, Decimal]:
    limits: dict[str, Decimal] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, sep, amount = item.partition(":")
        if not sep:
            raise ValueError(f"limit {item!r} must look like CCY:AMOUNT")
        limits[currency.strip().upper()] = Decimal(amount.strip())
    return limits


class RulesScreening:
    """Amount-limit rules; an outgoing payment is the only kind that is limited."""

    def __init__(self, limits: AmountLimits) -> None:
        self.limits = limits

    def screen(self, request: ScreeningRequest) -> ScreeningDecision:
        if not request.debtor_is_ours:
            return ScreeningDecision(ScreeningOutcome.APPROVE)
        hits: list[str] = []
        ccy = request.currency
        decline = self.limits.decline_above.get(ccy)
        if decline is not None and request.amount > decline:
            hits.append(f"amount-above-{decline}-{ccy}")
        daily = self.limits.daily_limit.get(ccy)
        if daily is not None and request.debtor_outflow_today + request.amount > daily:
            hits.append(f"daily-outflow-above-{daily}-{ccy}")
        if hits:
            return ScreeningDecision(ScreeningOutcome.DECLINE, hits)
        review = self.limits.review_above.get(ccy)
        if review is not None and request.amount > review:
            return ScreeningDecision(
                ScreeningOutcome.REVIEW, [f"amount-review-above-{review}-{ccy}"]
            )
        return ScreeningDecision(ScreeningOutcome.APPROVE)
