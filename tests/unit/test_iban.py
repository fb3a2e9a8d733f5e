"""Iban: validation (checksum, length, garbage), compact form, masking."""

from __future__ import annotations

import pytest

from domain.errors import InvalidIban
from domain.iban import Iban, normalise_iban
from tests.builders import COUNTRIES, iban


@pytest.mark.parametrize(
    "value",
    [
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "GB82WEST12345698765432",
        "NL91ABNA0417164300",
    ],
)
def test_known_valid_ibans(value):
    assert Iban(value).value == value


@pytest.mark.parametrize("country", COUNTRIES)
def test_generated_ibans_of_several_countries_are_valid(country):
    value = iban(country, 4711)
    parsed = Iban(value)
    assert parsed.value == value
    assert parsed.country_code == country


def test_compact_form_strips_spaces_and_upper_cases():
    assert Iban("DE89 3704 0044 0532 0130 00").value == "DE89370400440532013000"
    assert Iban("de89 3704 0044 0532 0130 00").value == "DE89370400440532013000"
    assert str(Iban(" DE89370400440532013000 ")) == "DE89370400440532013000"


def test_equal_ibans_in_different_notation_are_equal():
    assert Iban("DE89 3704 0044 0532 0130 00") == Iban("DE89370400440532013000")
    assert hash(Iban("de89370400440532013000")) == hash(Iban("DE89370400440532013000"))


@pytest.mark.parametrize(
    "value",
    [
        "DE88370400440532013000",  # wrong check digits
        "DE89370400440532013001",  # checksum broken by the account number
        "DE8937040044053201300",  # one character short
        "DE893704004405320130000",  # one character too long
        "XX89370400440532013000",  # no such country
        "NOT AN IBAN",
        "12345",
        "DE89-3704-0044-0532-0130-00!",
    ],
)
def test_invalid_ibans_are_refused(value):
    with pytest.raises(InvalidIban):
        Iban(value)


@pytest.mark.parametrize("value", ["", "   ", None, 42])
def test_empty_or_non_string_is_refused(value):
    with pytest.raises(InvalidIban):
        normalise_iban(value)  # type: ignore[arg-type]


def test_error_names_the_input():
    with pytest.raises(InvalidIban, match="DE88370400440532013000"):
        Iban("DE88370400440532013000")


def test_masking_keeps_country_check_digits_and_last_four():
    masked = Iban("DE89370400440532013000").masked()
    assert masked == "DE89**************3000"
    assert len(masked) == len("DE89370400440532013000")
    assert "0532013" not in masked


def test_masking_a_short_iban():
    masked = Iban("NO9386011117947").masked()
    assert masked.startswith("NO93")
    assert masked.endswith("7947")
    assert masked.count("*") == len("NO9386011117947") - 8


def test_iban_is_immutable():
    value = Iban("DE89370400440532013000")
    with pytest.raises(AttributeError):
        value.value = "x"  # type: ignore[misc]
