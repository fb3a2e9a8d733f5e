"""Opaque keyset cursors: base64url of a small JSON array tagged with the list it pages.

A cursor names the last row of a page by its sort key; the next page starts
strictly after it. Anything that does not decode to the expected shape raises
``ValueError("invalid cursor")``, which the API maps to a client error.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from projections.events import as_utc

INVALID = "invalid cursor"


def encode(kind: str, *values: str | int | datetime) -> str:
    """Cursor for the row whose sort key is ``values`` in the list ``kind``."""
    parts: list[Any] = [kind]
    for value in values:
        parts.append(as_utc(value).isoformat() if isinstance(value, datetime) else value)
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, kind: str, *types: type) -> list[Any]:
    """The sort key in ``cursor``; ``types`` are ``str``, ``int`` or ``datetime``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (ValueError, UnicodeError, binascii.Error, TypeError, AttributeError):
        raise ValueError(INVALID) from None
    if not isinstance(parts, list) or len(parts) != len(types) + 1 or parts[0] != kind:
        raise ValueError(INVALID)
    values: list[Any] = []
    for value, expected in zip(parts[1:], types, strict=True):
        if expected is datetime:
            if not isinstance(value, str):
                raise ValueError(INVALID)
            try:
                values.append(as_utc(datetime.fromisoformat(value)))
            except ValueError:
                raise ValueError(INVALID) from None
        elif expected is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(INVALID)
            values.append(value)
        else:
            if not isinstance(value, str):
                raise ValueError(INVALID)
            values.append(value)
    return values
