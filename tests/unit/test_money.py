"""Money: Decimal only, currency scale, ISO 4217 codes, no mixed-currency arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidMoney
from domain.money import Money, check_currency, minor_unit, parse_amount


@pytest.mark.parametrize(
    ("currency", "places"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("BHD", 3), ("KWD", 3)]
)
def test_minor_unit_follows_iso_4217(currency, places):
    assert minor_unit(currency) == places


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("125.40", "EUR", Decimal("125.40")),
        ("1.500", "EUR", Decimal("1.50")),
        ("1", "EUR", Decimal("1.00")),
        ("0.01", "EUR", Decimal("0.01")),
        ("  7.10 ", "EUR", Decimal("7.10")),
        ("1000", "JPY", Decimal("1000")),
        ("1000.0", "JPY", Decimal("1000")),
        ("1.234", "BHD", Decimal("1.234")),
        ("1.2", "BHD", Decimal("1.200")),
        (Decimal("3.10"), "EUR", Decimal("3.10")),
        (5, "EUR", Decimal("5.00")),
    ],
)
def test_parse_accepts_amounts_within_the_currency_scale(raw, currency, expected):
    money = Money.parse(raw, currency)
    assert money.amount == expected
    # The amount is held at exactly the currency's scale.
    assert money.amount.as_tuple().exponent == -minor_unit(currency)
    assert str(money.amount) == str(expected)
    assert money.currency == currency


def test_trailing_zeros_beyond_the_scale_are_normalised():
    assert str(Money.parse("1.500", "EUR").amount) == "1.50"
    assert Money.parse("1.500", "EUR") == Money.parse("1.5", "EUR")


@pytest.mark.parametrize(
    ("raw", "currency"),
    [
        ("1.005", "EUR"),
        ("0.001", "EUR"),
        ("1.5", "JPY"),
        ("100.01", "JPY"),
        ("1.2345", "BHD"),
    ],
)
def test_more_decimals_than_the_currency_allows_are_refused_not_rounded(raw, currency):
    with pytest.raises(InvalidMoney, match="decimal places"):
        Money.parse(raw, currency)


@pytest.mark.parametrize("value", [1.5, 0.1, 125.40, float("nan"), float("inf")])
def test_floats_are_refused(value):
    with pytest.raises(InvalidMoney, match="float"):
        Money.parse(value, "EUR")
    with pytest.raises(InvalidMoney):
        Money(value, "EUR")  # type: ignore[arg-type]


def test_bool_is_not_an_amount():
    with pytest.raises(InvalidMoney):
        Money.parse(True, "EUR")


@pytest.mark.parametrize("raw", ["", "abc", "12,50", "1.2.3", "NaN", "Infinity", "-inf", None, []])
def test_non_decimal_input_is_refused(raw):
    with pytest.raises(InvalidMoney):
        Money.parse(raw, "EUR")


@pytest.mark.parametrize(
    ("currency", "why"),
    [
        ("XAU", "no minor unit"),  # gold
        ("XXX", "no minor unit"),  # no currency
        ("ABC", "unknown"),
        ("QQQ", "unknown"),
        ("eur", "three-letter"),
        ("EURO", "three-letter"),
        ("", "three-letter"),
    ],
)
def test_unknown_or_unbookable_currencies_are_refused(currency, why):
    with pytest.raises(InvalidMoney, match=why):
        Money.parse("1.00", currency)
    with pytest.raises(InvalidMoney):
        check_currency(currency)


def test_check_currency_returns_a_valid_code():
    assert check_currency("EUR") == "EUR"


def test_money_constructor_enforces_scale_as_well():
    with pytest.raises(InvalidMoney):
        Money(Decimal("1.005"), "EUR")
    assert Money(Decimal("2"), "EUR").amount == Decimal("2.00")


def test_arithmetic_in_one_currency():
    a = Money.parse("10.25", "EUR")
    b = Money.parse("0.75", "EUR")
    assert a + b == Money.parse("11.00", "EUR")
    assert a - b == Money.parse("9.50", "EUR")
    assert -a == Money.parse("-10.25", "EUR")
    assert (b - a).amount == Decimal("-9.50")
    assert Money.zero("JPY") == Money.parse("0", "JPY")


def test_decimal_arithmetic_is_exact():
    total = Money.zero("EUR")
    for _ in range(10):
        total = total + Money.parse("0.10", "EUR")
    assert total == Money.parse("1.00", "EUR")


def test_arithmetic_refuses_mixed_currencies():
    eur = Money.parse("1.00", "EUR")
    usd = Money.parse("1.00", "USD")
    with pytest.raises(InvalidMoney, match="EUR"):
        eur + usd
    with pytest.raises(InvalidMoney, match="USD"):
        eur - usd


def test_money_of_different_currencies_is_not_equal():
    assert Money.parse("1.00", "EUR") != Money.parse("1.00", "USD")


def test_is_positive():
    assert Money.parse("0.01", "EUR").is_positive
    assert not Money.zero("EUR").is_positive
    assert not Money.parse("-1", "EUR").is_positive


def test_str_shows_amount_and_currency():
    assert str(Money.parse("125.4", "EUR")) == "125.40 EUR"
    assert str(Money.parse("5", "JPY")) == "5 JPY"


def test_money_is_immutable():
    money = Money.parse("1.00", "EUR")
    with pytest.raises(AttributeError):
        money.amount = Decimal("2.00")  # type: ignore[misc]


@pytest.mark.parametrize("raw", ["1e30", "100000000000000000000000000000", "9" * 40])
def test_absurdly_large_amounts_are_refused_as_invalid_money(raw):
    """A huge amount must be refused with InvalidMoney, not crash the decimal context."""
    with pytest.raises(InvalidMoney):
        parse_amount(raw, "EUR")
