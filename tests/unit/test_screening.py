"""RulesScreening / AmountLimits: per-transaction review and decline limits, daily limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.ledger.screening import AmountLimits, RulesScreening
from application.ports import ScreeningRequest
from domain.ledger.transactions import ScreeningOutcome

APPROVE, REVIEW, DECLINE = (
    ScreeningOutcome.APPROVE,
    ScreeningOutcome.REVIEW,
    ScreeningOutcome.DECLINE,
)


def request(
    amount: str,
    currency: str = "EUR",
    *,
    outflow: str = "0",
    debtor_is_ours: bool = True,
    creditor_is_ours: bool = False,
) -> ScreeningRequest:
    return ScreeningRequest(
        transaction_id="t",
        channel="MOBILE",
        amount=Decimal(amount),
        currency=currency,
        debtor_iban="DE89370400440532013000",
        creditor_iban="FR1420041010050500013M02606",
        debtor_is_ours=debtor_is_ours,
        creditor_is_ours=creditor_is_ours,
        debtor_outflow_today=Decimal(outflow),
        requested_at=None,
    )


@pytest.fixture
def rules() -> RulesScreening:
    return RulesScreening(
        AmountLimits.parse(review="EUR:1000", decline="EUR:5000", daily="EUR:8000")
    )


def test_parse_limits_per_currency():
    limits = AmountLimits.parse(review="EUR:1000, usd:1200", decline="EUR:5000", daily="")
    assert limits.review_above == {"EUR": Decimal("1000"), "USD": Decimal("1200")}
    assert limits.decline_above == {"EUR": Decimal("5000")}
    assert limits.daily_limit == {}


def test_parse_refuses_malformed_limits():
    with pytest.raises(ValueError):
        AmountLimits.parse(review="EUR1000")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.01", APPROVE),
        ("1000.00", APPROVE),  # "above" is strict
        ("1000.01", REVIEW),
        ("5000.00", REVIEW),
        ("5000.01", DECLINE),
        ("1000000", DECLINE),
    ],
)
def test_per_transaction_limits(rules, amount, expected):
    assert rules.screen(request(amount)).outcome is expected


def test_decisions_explain_themselves(rules):
    review = rules.screen(request("1500"))
    assert review.rule_hits
    assert any("review" in hit for hit in review.rule_hits)
    decline = rules.screen(request("6000"))
    assert decline.rule_hits
    assert rules.screen(request("10")).rule_hits == []


@pytest.mark.parametrize(
    ("outflow", "amount", "expected"),
    [
        ("7000", "1000", APPROVE),  # exactly at the limit
        ("7000", "1000.01", DECLINE),
        ("8000", "0.01", DECLINE),
        ("0", "1000", APPROVE),
    ],
)
def test_daily_limit_counts_the_outflow_of_the_day(rules, outflow, amount, expected):
    decision = rules.screen(request(amount, outflow=outflow))
    assert decision.outcome is expected
    if expected is DECLINE:
        assert any("daily" in hit for hit in decision.rule_hits)


def test_daily_limit_declines_even_a_payment_that_would_only_be_reviewed(rules):
    assert rules.screen(request("1500", outflow="7000")).outcome is DECLINE


@pytest.mark.parametrize("amount", ["1500", "6000", "100000"])
def test_incoming_payments_are_not_limited(rules, amount):
    decision = rules.screen(request(amount, debtor_is_ours=False, creditor_is_ours=True))
    assert decision.outcome is APPROVE


def test_internal_transfers_are_limited_like_outgoing(rules):
    decision = rules.screen(request("6000", debtor_is_ours=True, creditor_is_ours=True))
    assert decision.outcome is DECLINE


def test_currencies_without_limits_are_not_limited(rules):
    assert rules.screen(request("1000000", currency="USD", outflow="99999999")).outcome is APPROVE


def test_no_limits_approve_everything():
    assert RulesScreening(AmountLimits()).screen(request("99999999")).outcome is APPROVE


def test_limits_are_per_currency():
    rules = RulesScreening(AmountLimits.parse(review="EUR:1000,JPY:100000"))
    assert rules.screen(request("1001", currency="EUR")).outcome is REVIEW
    assert rules.screen(request("1001", currency="JPY")).outcome is APPROVE
    assert rules.screen(request("100001", currency="JPY")).outcome is REVIEW
