"""``json_safe`` (projections/events.py) never fails on content: deep nesting is cut at a
bound (no RecursionError, whatever the stack depth of the caller), and non-finite floats are
rendered as strings, so a read model never holds or serves invalid JSON (issue #12)."""

from __future__ import annotations

import json
import math
import threading
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from projections.events import MAX_JSON_DEPTH, TRUNCATED, json_safe


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for n in range(depth):
        value = {"a": value} if n % 2 else [value]
    return value


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, dict | list) and value:
        value = value["a"] if isinstance(value, dict) else value[0]
        depth += 1
    return depth


def test_deeply_nested_values_are_cut_at_the_bound_without_recursion_error() -> None:
    for depth in (900, 2_000, 100_000):
        safe = json_safe(nested(depth))
        text = json.dumps(safe)  # the C encoder recurses too: the result must be shallow
        assert TRUNCATED in text
        assert depth_of(safe) == MAX_JSON_DEPTH
        assert json_safe({"metadata": nested(depth)})["metadata"] != TRUNCATED


def test_values_within_the_bound_are_kept_whole() -> None:
    value = nested(MAX_JSON_DEPTH - 1, leaf="x")
    assert json_safe(value) == value
    assert TRUNCATED not in json.dumps(json_safe(value))


def test_a_deep_caller_stack_does_not_matter() -> None:
    """The projector runs in a thread, several frames down: json_safe itself adds none."""
    found: list[Any] = []

    def deep_call(frames: int) -> None:
        if frames:
            deep_call(frames - 1)
            return
        found.append(json_safe(nested(5_000)))

    thread = threading.Thread(target=deep_call, args=(800,))
    thread.start()
    thread.join()
    assert found and depth_of(found[0]) == MAX_JSON_DEPTH


def test_non_finite_floats_are_strings_and_the_json_is_strict() -> None:
    value = {"nan": math.nan, "inf": math.inf, "neg": -math.inf, "ok": 1.5, "d": Decimal("NaN")}
    safe = json_safe(value)
    assert safe == {"nan": "NaN", "inf": "Infinity", "neg": "-Infinity", "ok": 1.5, "d": "NaN"}
    json.dumps(safe, allow_nan=False)  # strict JSON (what PostgreSQL JSONB accepts)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=3), children, max_size=3)
        | st.tuples(children, children)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_value_gives_strict_json(value: Any) -> None:
    text = json.dumps(json_safe(value), allow_nan=False)
    assert json_safe(json.loads(text)) == json.loads(text)  # idempotent on its own output
