"""Hostile payment input refused by the one parser, ``PaymentInstruction.from_message``, with the
field named (issue #12 items 1(a), 3, 6), and the strict JSON decoder every edge uses."""

from __future__ import annotations

import copy
import json
import math
import sys
from typing import Any

import pytest

from application.errors import InvalidCommand
from application.input_rules import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_METADATA_KEYS,
    JsonRefused,
    UnsafeNumber,
    decode_json,
    json_problems,
    sane_instant,
)
from application.ledger.commands import PaymentInstruction
from tests.builders import EXAMPLE_MESSAGE


def nested(depth: int, leaf: Any = 1) -> Any:
    """``{"a": {"a": ... leaf}}`` with ``depth`` objects, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def with_metadata(metadata: Any) -> dict[str, Any]:
    msg = copy.deepcopy(EXAMPLE_MESSAGE)
    msg["metadata"] = metadata
    return msg


def refused(msg: Any) -> list[str]:
    with pytest.raises(InvalidCommand) as error:
        PaymentInstruction.from_message(msg)
    return error.value.problems


def test_metadata_at_the_depth_limit_is_accepted() -> None:
    p = PaymentInstruction.from_message(with_metadata(nested(MAX_METADATA_DEPTH)))
    assert p.metadata == nested(MAX_METADATA_DEPTH)


@pytest.mark.parametrize("depth", [MAX_METADATA_DEPTH + 1, 900, 50_000])
def test_metadata_nested_too_deeply_is_refused_naming_the_field(depth: int) -> None:
    assert refused(with_metadata(nested(depth))) == ["metadata: nested deeper than 8 levels"]


def test_deep_arrays_count_as_nesting() -> None:
    value: Any = 1
    for _ in range(MAX_METADATA_DEPTH):
        value = [value]
    assert refused(with_metadata({"a": value})) == ["metadata: nested deeper than 8 levels"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, "metadata.x: nan is not allowed (only finite numbers)"),
        (math.inf, "metadata.x: inf is not allowed (only finite numbers)"),
        (-math.inf, "metadata.x: -inf is not allowed (only finite numbers)"),
        (10**50, "metadata.x: a number of more than 40 digits"),
        (b"bytes", "metadata.x: bytes is not a JSON value"),
        ({1, 2}, "metadata.x: set is not a JSON value"),
        ("a\ud800b", "metadata.x: not valid Unicode (lone surrogate)"),
        ("a\x00b", "metadata.x: NUL characters are not allowed"),
        ("a\x07b", "metadata.x: control characters are not allowed"),
        ("x" * 1025, "metadata.x: a string of 1025 characters (at most 1024)"),
    ],
)
def test_metadata_values_that_are_no_storable_json_are_named(value: Any, expected: str) -> None:
    assert refused(with_metadata({"ok": "fine", "x": value})) == [expected]


def test_a_nested_path_is_named() -> None:
    problems = refused(with_metadata({"device": {"ids": ["a", math.nan]}}))
    assert problems == ["metadata.device.ids[1]: nan is not allowed (only finite numbers)"]


def test_too_many_keys_long_keys_and_too_large_metadata_are_refused() -> None:
    many = {f"k{i}": i for i in range(MAX_METADATA_KEYS + 1)}
    assert refused(with_metadata(many)) == ["metadata: more than 64 keys"]
    assert refused(with_metadata({"k" * 65: 1})) == [
        "metadata: a key of 65 characters (at most 64)"
    ]
    big = {f"k{i}": "v" * 1000 for i in range(5)}
    assert refused(with_metadata(big)) == ["metadata: 5041 bytes serialised (at most 4096)"]
    wide = {"a": [0] * 100_000}
    assert refused(with_metadata(wide)) == ["metadata: larger than 4096 bytes"]


def test_metadata_within_every_bound_is_kept() -> None:
    fine = {"device": {"id": "d-1", "tags": ["a", "b"], "score": 0.5, "n": 12, "ok": None}}
    assert PaymentInstruction.from_message(with_metadata(fine)).metadata == fine


def test_metadata_of_exactly_the_size_limit_is_accepted_one_byte_more_refused() -> None:
    filler = {f"k{i}": "v" * 1000 for i in range(4)}
    used = len(json.dumps(filler | {"z": ""}, separators=(",", ":")))
    exact = filler | {"z": "v" * (MAX_METADATA_BYTES - used)}
    assert len(json.dumps(exact, separators=(",", ":"))) == MAX_METADATA_BYTES
    assert json_problems(exact, "metadata") == []
    over = filler | {"z": "v" * (MAX_METADATA_BYTES - used + 1)}
    assert json_problems(over, "metadata") == ["metadata: 4097 bytes serialised (at most 4096)"]


@pytest.mark.parametrize("field", ["reference", "externalId", "channel"])
def test_text_that_has_no_utf8_form_is_refused_by_name(field: str) -> None:
    msg = copy.deepcopy(EXAMPLE_MESSAGE)
    msg[field] = "ab\udc80"
    assert refused(msg) == [f"{field}: not valid Unicode (lone surrogate)"]


def test_party_names_must_have_a_utf8_form() -> None:
    msg = copy.deepcopy(EXAMPLE_MESSAGE)
    msg["creditor"]["name"] = "Mari\ud800e"
    assert refused(msg) == ["creditor.name: not valid Unicode (lone surrogate)"]


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("0001-01-01T00:00:00+01:00", "requestedAt: 0001-01-01T00:00:00+01:00 is not repr"),
        ("9999-12-31T23:59:59-01:00", "requestedAt: 9999-12-31T23:59:59-01:00 is not repr"),
        ("1899-12-31T23:59:59Z", "requestedAt: year 1899 is outside 1900..2200"),
        ("2201-01-01T00:00:00Z", "requestedAt: year 2201 is outside 1900..2200"),
        ("0001-01-01T00:00:00Z", "requestedAt: year 1 is outside 1900..2200"),
    ],
)
def test_requested_at_outside_a_sane_range_is_refused(timestamp: str, expected: str) -> None:
    (problem,) = refused(copy.deepcopy(EXAMPLE_MESSAGE) | {"requestedAt": timestamp})
    assert problem.startswith(expected)


def test_requested_at_at_the_edges_of_the_range_is_accepted() -> None:
    for timestamp in ("1900-01-01T00:00:00Z", "2200-12-31T23:59:59Z"):
        PaymentInstruction.from_message(copy.deepcopy(EXAMPLE_MESSAGE) | {"requestedAt": timestamp})


# --------------------------------------------------------------------------- the decoder


def test_the_decoder_marks_what_it_cannot_accept_instead_of_failing() -> None:
    decoded = decode_json(
        '{"nan": NaN, "inf": Infinity, "big": 1e999, "long": ' + "9" * 10_000 + ', "ok": 1.5}'
    )
    assert decoded["ok"] == 1.5
    for key in ("nan", "inf", "big", "long"):
        assert isinstance(decoded[key], UnsafeNumber)
    assert decoded["long"].problem == "a number of 10000 digits (at most 40)"
    assert decoded["big"].problem == "1e999 is out of range (not a finite number)"


def test_decoded_hostile_numbers_in_metadata_are_named_by_the_parser() -> None:
    raw = json.dumps(with_metadata({"x": 1})).replace('"x": 1', '"x": NaN, "y": 1e999')
    problems = refused(decode_json(raw))
    assert problems == [
        "metadata.y: 1e999 is out of range (not a finite number)",
        "metadata.x: NaN is not valid JSON",
    ]


def test_a_hostile_number_in_a_typed_field_fails_that_fields_check() -> None:
    raw = json.dumps(EXAMPLE_MESSAGE).replace('"125.40"', "9" * 10_000)
    assert refused(decode_json(raw)) == ['amount: must be a decimal string such as "125.40"']


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000]
)
def test_a_document_nested_beyond_the_recursion_limit_is_refused_not_crashed(raw: bytes) -> None:
    assert sys.getrecursionlimit() < 100_000
    with pytest.raises(JsonRefused, match="nested too deeply"):
        decode_json(raw)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b'{"a": ', b"nope"])
def test_garbage_is_refused_as_json(raw: bytes) -> None:
    with pytest.raises(JsonRefused):
        decode_json(raw)


def test_sane_instant_names_the_field() -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match=r"^asOf: year 1 is outside 1900\.\.2200$"):
        sane_instant(datetime.fromisoformat("0001-01-01T00:00:00+00:00"), "asOf")
    with pytest.raises(ValueError, match=r"^asOf: 9999-12-31T23:59:59-01:00 is not representable"):
        sane_instant(datetime.fromisoformat("9999-12-31T23:59:59-01:00"), "asOf")
