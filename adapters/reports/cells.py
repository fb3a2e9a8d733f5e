"""A report cell as text, the same in CSV, PDF and GraphQL rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def text_of(value: Any) -> str:
    """A cell as CSV text: amounts as fixed-point decimals (never ``-0.00`` or exponents),
    instants in ISO 8601 UTC, empty for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value if value else abs(value), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
