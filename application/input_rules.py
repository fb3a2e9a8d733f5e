"""Bounds on untrusted input: free-form JSON (payment ``metadata``), numbers and instants.

A value that passes these rules can be stored in an event, serialised, projected into a
JSON/JSONB column and served back as valid JSON by every reader; one that does not is refused
at the edge with ``"<field>: what is wrong"``. Every walk here is iterative (an explicit stack)
and stops early, so no client value can exhaust the recursion limit or cost more than its
bounded size, wherever it came from (REST, the message queue, pacs.008, GraphQL).

:func:`decode_json` is the strict JSON decoder for every edge that reads client JSON. It never
raises for a number or constant it cannot accept: it puts an :class:`UnsafeNumber` in its place
so that the validator of that field (here :func:`json_problems`, or a field's own type check)
can say *which* field is wrong. Nesting beyond what the decoder can handle raises
:class:`JsonRefused`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

MAX_METADATA_DEPTH: Final = 8
"""Objects/arrays nested in ``metadata``, ``metadata`` itself being level 1."""
MAX_METADATA_BYTES: Final = 4096
"""Size of ``metadata`` serialised as compact JSON (UTF-8)."""
MAX_METADATA_KEYS: Final = 64
"""Keys in all objects of ``metadata`` together."""
MAX_KEY_LENGTH: Final = 64
MAX_STRING_LENGTH: Final = 1024
MAX_NUMBER_LENGTH: Final = 40
"""Characters of one JSON number literal (digits, sign, point, exponent): enough for any
amount, id or counter, far below Python's 4,300-digit int conversion limit."""
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2200
"""Instants a client may send (a payment's ``requestedAt``, an ``asOf``): after conversion to
UTC their year is within ``MIN_YEAR..MAX_YEAR``."""

_ALLOWED_CONTROLS = frozenset("\t\n\r")
_INT_BOUND: Final = 10**MAX_NUMBER_LENGTH


class JsonRefused(ValueError):
    """A document the strict decoder cannot read at all (not JSON, or nested too deeply)."""


@dataclass(frozen=True, slots=True)
class UnsafeNumber:
    """What :func:`decode_json` puts where a number or constant cannot be accepted."""

    text: str
    problem: str

    def __repr__(self) -> str:  # shown by type checks of other fields: keep it short
        return f"<{self.problem}>"


def _parse_int(text: str) -> int | UnsafeNumber:
    if len(text) > MAX_NUMBER_LENGTH:
        digits = f"a number of {len(text)} digits (at most {MAX_NUMBER_LENGTH})"
        return UnsafeNumber(text[:20], digits)
    return int(text)


def _parse_float(text: str) -> float | UnsafeNumber:
    if len(text) > MAX_NUMBER_LENGTH:
        return UnsafeNumber(
            text[:20], f"a number of {len(text)} characters (at most {MAX_NUMBER_LENGTH})"
        )
    value = float(text)
    if not math.isfinite(value):
        return UnsafeNumber(text, f"{text} is out of range (not a finite number)")
    return value


def _parse_constant(name: str) -> UnsafeNumber:
    return UnsafeNumber(name, f"{name} is not valid JSON")


def decode_json(raw: bytes | str) -> Any:
    """Decode client JSON strictly (see the module doc); :class:`JsonRefused` if unreadable."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise JsonRefused(f"not UTF-8: {error}") from None
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except RecursionError:
        raise JsonRefused("nested too deeply") from None
    except json.JSONDecodeError as error:
        raise JsonRefused(str(error)) from None


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def text_problem(value: str, *, controls: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text (None when it can): lone surrogates (no UTF-8
    form), NUL (refused by PostgreSQL JSONB) and, unless ``controls``, control characters
    other than tab and line breaks."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode (lone surrogate)"
    if "\x00" in value:
        return "NUL characters are not allowed"
    if not controls and any(ord(ch) < 32 and ch not in _ALLOWED_CONTROLS for ch in value):
        return "control characters are not allowed"
    return None


def json_problems(
    value: Any,
    name: str,
    *,
    max_depth: int = MAX_METADATA_DEPTH,
    max_bytes: int = MAX_METADATA_BYTES,
    max_keys: int = MAX_METADATA_KEYS,
) -> list[str]:
    """Problems of ``value`` (decoded JSON) as ``"<name>...: what"``; empty when it is safe.

    Only objects with string keys, arrays, strings, finite numbers, booleans and null; depth,
    key count, key and string length and the serialised size bounded. Stops at the first
    problem of depth or size (everything below would be noise).
    """
    problems: list[str] = []
    keys = 0
    nodes = 0
    stack: list[tuple[Any, str, int]] = [(value, name, 1)]
    while stack:
        item, where, depth = stack.pop()
        nodes += 1
        if nodes > max_bytes:  # every value costs at least one byte: the size is exceeded
            return [f"{name}: larger than {max_bytes} bytes"]
        if isinstance(item, UnsafeNumber):
            problems.append(f"{where}: {item.problem}")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) >= _INT_BOUND:
                problems.append(f"{where}: a number of more than {MAX_NUMBER_LENGTH} digits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.append(f"{where}: {item} is not allowed (only finite numbers)")
        elif isinstance(item, str):
            if len(item) > MAX_STRING_LENGTH:
                length = f"a string of {len(item)} characters (at most {MAX_STRING_LENGTH})"
                problems.append(f"{where}: {length}")
            elif (problem := text_problem(item)) is not None:
                problems.append(f"{where}: {problem}")
        elif isinstance(item, Mapping | list | tuple):
            if depth > max_depth:
                return [f"{name}: nested deeper than {max_depth} levels"]
            if isinstance(item, Mapping):
                for key, inner in item.items():
                    keys += 1
                    if keys > max_keys:
                        return [f"{name}: more than {max_keys} keys"]
                    if not isinstance(key, str):
                        problems.append(f"{where}: keys must be strings")
                    elif len(key) > MAX_KEY_LENGTH:
                        problems.append(
                            f"{where}: a key of {len(key)} characters (at most {MAX_KEY_LENGTH})"
                        )
                    elif (problem := text_problem(key, controls=False)) is not None:
                        problems.append(f"{where}: key {key!r}: {problem}")
                    else:
                        stack.append((inner, _path(where, key), depth + 1))
            else:
                for index, inner in enumerate(item):
                    stack.append((inner, _path(where, index), depth + 1))
        else:
            problems.append(f"{where}: {type(item).__name__} is not a JSON value")
    if problems:
        return problems
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > max_bytes:
        return [f"{name}: {size} bytes serialised (at most {max_bytes})"]
    return []


def instant_problem(moment: datetime, name: str) -> str | None:
    """Why ``moment`` (aware) is no instant a client may send, None when it is fine."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return f"{name}: must carry a time zone (e.g. 2026-11-23T10:15:00Z)"
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:
        return f"{name}: {moment.isoformat()} is not representable in UTC"
    if not MIN_YEAR <= in_utc.year <= MAX_YEAR:
        return f"{name}: year {in_utc.year} is outside {MIN_YEAR}..{MAX_YEAR}"
    return None


def sane_instant(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC, or ``ValueError("<name>: ...")`` (see :func:`instant_problem`)."""
    problem = instant_problem(moment, name)
    if problem is not None:
        raise ValueError(problem)
    return moment.astimezone(UTC)


def unsafe_values(value: Any, name: str) -> list[str]:
    """Where :func:`decode_json` left an :class:`UnsafeNumber` in ``value``, or a string (value
    or key) has no UTF-8 form (a lone surrogate, ``"\\ud800"``, which no database or response
    can encode), as ``"<name>.path: problem"`` (``name`` may be empty). Iterative; for
    documents that have no validator of their own, such as a GraphQL request body."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(value, name)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, UnsafeNumber):
            found.append(f"{where or 'body'}: {item.problem}")
        elif isinstance(item, str):
            if not _encodable(item):
                found.append(f"{where or 'body'}: not valid Unicode (lone surrogate)")
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                if isinstance(key, str) and not _encodable(key):
                    found.append(f"{where or 'body'}: a key is not valid Unicode (lone surrogate)")
                    continue
                stack.append((inner, _path(where, str(key))))
        elif isinstance(item, list):
            stack.extend((inner, _path(where, index)) for index, inner in enumerate(item))
    return sorted(found)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
