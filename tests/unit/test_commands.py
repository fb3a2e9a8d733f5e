"""PaymentInstruction.from_message: the ingestion contract and its readable refusals."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.errors import InvalidCommand
from application.ledger.commands import MAX_TEXT, PaymentInstruction
from domain.iban import Iban
from domain.money import Money
from tests.builders import EXAMPLE_MESSAGE, iban


def example(**changes) -> dict:
    msg = copy.deepcopy(EXAMPLE_MESSAGE)
    msg.update(changes)
    return msg


def without(*names: str) -> dict:
    msg = copy.deepcopy(EXAMPLE_MESSAGE)
    for name in names:
        del msg[name]
    return msg


def refused(msg) -> str:
    with pytest.raises(InvalidCommand) as error:
        PaymentInstruction.from_message(msg)
    return str(error.value)


def test_the_issue_example_is_accepted_exactly():
    p = PaymentInstruction.from_message(EXAMPLE_MESSAGE)
    assert p.external_id == "MOB-2026-000001"
    assert p.channel == "MOBILE"
    assert p.debtor.iban == Iban("DE89370400440532013000")
    assert p.debtor.name == "Max Mustermann"
    assert p.creditor.iban == Iban("FR1420041010050500013M02606")
    assert p.creditor.name == "Marie Dupont"
    assert p.amount == Money(Decimal("125.40"), "EUR")
    assert str(p.amount.amount) == "125.40"
    assert p.reference == "Invoice 4711"
    assert p.requested_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert p.metadata == {"deviceId": "d-1", "ip": "203.0.113.7"}


def test_parsing_does_not_mutate_the_message():
    msg = example()
    PaymentInstruction.from_message(msg)
    assert msg == EXAMPLE_MESSAGE


def test_optional_fields_may_be_missing():
    p = PaymentInstruction.from_message(without("reference", "requestedAt", "metadata"))
    assert p.reference == ""
    assert p.requested_at is None
    assert p.metadata == {}


def test_ibans_in_print_form_are_compacted():
    p = PaymentInstruction.from_message(
        example(debtor={"iban": "de89 3704 0044 0532 0130 00", "name": "Max"})
    )
    assert p.debtor.iban.value == "DE89370400440532013000"


def test_timestamps_with_offsets_are_converted_to_utc():
    p = PaymentInstruction.from_message(example(requestedAt="2026-11-23T11:15:00+01:00"))
    assert p.requested_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert p.requested_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("channel", ["REVERSAL", "reversal", " Reversal "])
def test_the_ledgers_own_channel_is_reserved(channel):
    """A message may not claim the channel under which the ledger books reversals, or it
    could take the idempotency key of a future reversal."""
    message = refused(example(channel=channel))
    assert "channel" in message
    assert "reserved" in message


def test_channel_is_case_insensitive_for_the_idempotency_key():
    assert PaymentInstruction.from_message(example(channel="mobile")).channel == "MOBILE"


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [
        ("JPY", "1500", Decimal("1500")),
        ("BHD", "1.250", Decimal("1.250")),
        ("EUR", "1.500", Decimal("1.50")),
    ],
)
def test_other_currencies_and_harmless_trailing_zeros(currency, amount, expected):
    p = PaymentInstruction.from_message(example(currency=currency, amount=amount))
    assert p.amount.amount == expected
    assert p.amount.currency == currency


@pytest.mark.parametrize(
    "field", ["externalId", "channel", "debtor", "creditor", "amount", "currency"]
)
def test_missing_required_field_is_named(field):
    assert field in refused(without(field))


@pytest.mark.parametrize("field", ["externalId", "channel", "currency"])
def test_empty_required_field_is_named(field):
    assert field in refused(example(**{field: ""}))


@pytest.mark.parametrize("side", ["debtor", "creditor"])
@pytest.mark.parametrize("inner", ["iban", "name"])
def test_missing_party_fields_are_named(side, inner):
    msg = example()
    del msg[side][inner]
    assert f"{side}.{inner}" in refused(msg)


@pytest.mark.parametrize("side", ["debtor", "creditor"])
def test_party_must_be_an_object(side):
    assert side in refused(example(**{side: "DE89370400440532013000"}))


@pytest.mark.parametrize("amount", [125.40, 125, Decimal("125.40"), True, ["125.40"]])
def test_amount_must_be_a_decimal_string(amount):
    message = refused(example(amount=amount))
    assert "amount" in message
    assert "string" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("externalId", 12345),
        ("channel", ["MOBILE"]),
        ("reference", 4711),
        ("currency", 978),
        ("requestedAt", 1764000000),
        ("metadata", "deviceId=d-1"),
    ],
)
def test_wrong_types_are_named(field, value):
    assert field in refused(example(**{field: value}))


@pytest.mark.parametrize(
    "bad_iban",
    ["DE88370400440532013000", "DE8937040044053201300", "hello", "", 12345],
)
@pytest.mark.parametrize("side", ["debtor", "creditor"])
def test_invalid_iban_is_named(side, bad_iban):
    msg = example()
    msg[side]["iban"] = bad_iban
    assert f"{side}.iban" in refused(msg)


@pytest.mark.parametrize("currency", ["XAU", "ABC", "eur", "EURO", "XXX"])
def test_unsupported_currency_is_refused(currency):
    message = refused(example(currency=currency))
    assert "currency" in message.lower()


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1.005", "EUR"), ("125.401", "EUR"), ("1.5", "JPY"), ("0.0001", "BHD")],
)
def test_too_many_decimals_are_refused(amount, currency):
    message = refused(example(amount=amount, currency=currency))
    assert "amount" in message
    assert "decimal places" in message


@pytest.mark.parametrize("amount", ["0", "0.00", "-0.01", "-125.40"])
def test_zero_or_negative_amounts_are_refused(amount):
    message = refused(example(amount=amount))
    assert "amount" in message
    assert "greater than zero" in message


@pytest.mark.parametrize("amount", ["abc", "", "NaN", "Infinity", "12,50"])
def test_garbage_amounts_are_refused(amount):
    assert "amount" in refused(example(amount=amount))


@pytest.mark.parametrize("amount", ["1e30", "100000000000000000000000000000"])
def test_absurdly_large_amounts_are_refused_as_invalid_command(amount):
    """An oversized amount is bad input (a 422), not an unhandled decimal error (a 500)."""
    assert "amount" in refused(example(amount=amount))


@pytest.mark.parametrize("timestamp", ["2026-11-23T10:15:00", "2026-11-23 10:15:00", "2026-11-23"])
def test_naive_timestamps_are_refused(timestamp):
    message = refused(example(requestedAt=timestamp))
    assert "requestedAt" in message
    assert "time zone" in message


@pytest.mark.parametrize("timestamp", ["yesterday", "2026-13-01T00:00:00Z", "23/11/2026"])
def test_unparseable_timestamps_are_refused(timestamp):
    assert "requestedAt" in refused(example(requestedAt=timestamp))


@pytest.mark.parametrize(
    ("field", "limit"),
    [("reference", MAX_TEXT), ("externalId", 64), ("channel", 64)],
)
def test_overlong_text_is_refused(field, limit):
    PaymentInstruction.from_message(example(**{field: "x" * limit}))
    message = refused(example(**{field: "x" * (limit + 1)}))
    assert field in message
    assert str(limit) in message


@pytest.mark.parametrize("side", ["debtor", "creditor"])
def test_overlong_party_name_is_refused(side):
    msg = example()
    msg[side]["name"] = "N" * (MAX_TEXT + 1)
    assert f"{side}.name" in refused(msg)


@pytest.mark.parametrize("field", ["reference", "externalId"])
def test_control_characters_are_refused(field):
    assert field in refused(example(**{field: "abc\x00def"}))


def test_every_problem_is_listed_at_once():
    msg = example(amount=12.5, requestedAt="2026-11-23T10:15:00")
    msg["debtor"]["iban"] = "DE00"
    message = refused(msg)
    for field in ("amount", "requestedAt", "debtor.iban"):
        assert field in message


@pytest.mark.parametrize("msg", [None, [], "{}", 42])
def test_message_must_be_an_object(msg):
    assert "object" in refused(msg)


def test_invalid_command_is_a_value_error_for_the_edge():
    with pytest.raises(ValueError):
        PaymentInstruction.from_message(without("amount"))


def test_debtor_and_creditor_of_other_countries():
    p = PaymentInstruction.from_message(
        example(
            debtor={"iban": iban("NL", 77), "name": "Jan"},
            creditor={"iban": iban("GB", 78), "name": "John"},
        )
    )
    assert p.debtor.iban.country_code == "NL"
    assert p.creditor.iban.country_code == "GB"


def test_a_blank_holder_name_is_refused_like_a_missing_one() -> None:
    with pytest.raises(InvalidCommand, match=r"creditor\.name: required"):
        PaymentInstruction.from_message(
            EXAMPLE_MESSAGE | {"creditor": {"iban": iban("FR"), "name": "   "}}
        )
