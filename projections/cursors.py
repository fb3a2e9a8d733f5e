"""Opaque keyset cursors: base64url of a small JSON array tagged with the list it pages.

A cursor names the last row of a page by its sort key; the next page starts
strictly after it. Anything that does not decode to the expected shape raises
``ValueError("invalid cursor")``, which the API maps to a client error. A cursor is client
input: its values are bounded so the query it feeds cannot fail in the database (an int
outside the 64-bit range such as a version of 2^70, a time with no UTC form such as
``0001-01-01T00:00:00+01:00``, a string with NUL that PostgreSQL refuses).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from application.input_rules import instant_problem, text_problem
from projections.events import as_utc

INVALID = "invalid cursor"
MAX_CURSOR_LENGTH = 1024
MAX_INT = 2**63 - 1
"""Versions and positions are non-negative and fit a 64-bit integer column."""
MAX_TEXT = 256


def encode(kind: str, *values: str | int | datetime) -> str:
    """Cursor for the row whose sort key is ``values`` in the list ``kind``."""
    parts: list[Any] = [kind]
    for value in values:
        parts.append(as_utc(value).isoformat() if isinstance(value, datetime) else value)
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, kind: str, *types: type) -> list[Any]:
    """The sort key in ``cursor``; ``types`` are ``str``, ``int`` or ``datetime``."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValueError(INVALID)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (ValueError, UnicodeError, binascii.Error, TypeError, AttributeError, RecursionError):
        raise ValueError(INVALID) from None
    if not isinstance(parts, list) or len(parts) != len(types) + 1 or parts[0] != kind:
        raise ValueError(INVALID)
    values: list[Any] = []
    for value, expected in zip(parts[1:], types, strict=True):
        if expected is datetime:
            if not isinstance(value, str):
                raise ValueError(INVALID)
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(INVALID) from None
            if instant_problem(moment, "cursor") is not None:
                raise ValueError(INVALID)
            values.append(as_utc(moment))
        elif expected is int:
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INT:
                raise ValueError(INVALID)
            values.append(value)
        else:
            if not isinstance(value, str) or len(value) > MAX_TEXT or text_problem(value):
                raise ValueError(INVALID)
            values.append(value)
    return values
