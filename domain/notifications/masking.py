"""Make event data safe to send out: plain JSON values, IBANs masked.

A notification leaves the bank (a webhook, an e-mail, a broker topic), so nothing in it may
carry a full account number. :func:`plain_data` turns event values into JSON-safe data and
masks every IBAN-shaped token in every string on the way, the same way the logs mask them
(``DE89370400440532013000`` -> ``DE89**************3000``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

_ALNUM = "A-Za-z0-9"
_IBAN = re.compile(
    rf"(?<![{_ALNUM}])[A-Za-z]{{2}}[0-9]{{2}}"
    rf"(?:[{_ALNUM}]{{11,30}}|(?: [{_ALNUM}]{{4}}){{2,7}}(?: [{_ALNUM}]{{1,4}})?)"
    rf"(?![{_ALNUM}])"
)
_IBAN_LENGTHS = range(15, 35)


def _check_digits_ok(compact: str) -> bool:
    rearranged = (compact[4:] + compact[:4]).upper()
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _mask(match: re.Match[str]) -> str:
    token = match.group(0)
    compact = token.replace(" ", "")
    if len(compact) not in _IBAN_LENGTHS:
        return token
    if token != token.upper() and not _check_digits_ok(compact):
        return token  # lower-case hex and the like, not an account number
    return f"{compact[:4]}{'*' * (len(compact) - 8)}{compact[-4:]}"


def mask_text(text: str) -> str:
    """``text`` with every IBAN in it masked (country, check digits and last four kept)."""
    return _IBAN.sub(_mask, text)


def plain_data(value: Any) -> Any:
    """``value`` as JSON-safe data (Decimal, UUID and datetimes as strings) with every IBAN
    in every string masked. Mapping keys are names: they are kept as they are."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Enum):
        return plain_data(value.value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain_data(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return mask_text(str(value))


def truncate(text: str, limit: int = 500) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis), IBANs masked."""
    masked = mask_text(text)
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"
