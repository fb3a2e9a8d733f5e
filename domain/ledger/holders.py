"""Who holds a customer account: holder type, further names and organisation identifiers.

Verification of Payee (docs/vop.md) checks a payer's name against the account's holder, so
the ledger records more than one display name: whether the holder is a natural or a legal
person, the legal name (the account's ``holder_name``), further names (joint holders,
trading names) and, for a legal person, its identifiers (LEI, VAT number, national
registration). They are facts of the ``Opened`` event and of ``HolderDetailsChanged``.

Logs written before these facts existed have ``Opened`` events without them: such an account
is a natural person with no further names (:meth:`HolderDetails.of_event` of ``None``), so old
logs replay unchanged. In events the details are plain JSON-able values
(:meth:`HolderDetails.as_event`), never the dataclasses, so the stored form stays stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import InvalidHolderDetails

MAX_NAME_LENGTH = 140
"""Characters of one name (the legal name and each further name), as ISO 20022's Max140Text."""
MAX_FURTHER_NAMES = 10
"""Joint holders and trading names of one account."""
MAX_IDENTIFIERS = 10
"""Organisation identifiers of one account."""
MAX_IDENTIFIER_LENGTH = 35
"""Characters of one identifier value (ISO 20022's Max35Text)."""

_LEI = re.compile(r"[A-Z0-9]{18}[0-9]{2}")
_IDENTIFIER_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]*")


class HolderType(StrEnum):
    """Whom an account belongs to."""

    NATURAL = "NATURAL"  # a person, or several (joint holders)
    LEGAL = "LEGAL"  # a company, association, public body


class IdentifierScheme(StrEnum):
    """The organisation identifiers an account of a legal person may carry."""

    LEI = "LEI"  # ISO 17442 Legal Entity Identifier: 20 characters, ISO 7064 mod 97-10
    VAT = "VAT"  # VAT identification number, with or without its country prefix
    NATIONAL = "NATIONAL"  # national registration (HRB 12345, KRS, SIREN, KvK ...)


@dataclass(frozen=True, slots=True)
class HolderIdentifier:
    scheme: IdentifierScheme
    value: str


@dataclass(frozen=True, slots=True)
class HolderDetails:
    """The holder facts beside the legal name. Build checked ones with :func:`holder_details`."""

    holder_type: HolderType = HolderType.NATURAL
    further_names: tuple[str, ...] = ()
    identifiers: tuple[HolderIdentifier, ...] = ()

    def as_event(self) -> dict[str, Any]:
        """The plain form stored in events (strings, lists and dicts only)."""
        return {
            "holder_type": self.holder_type.value,
            "further_names": list(self.further_names),
            "identifiers": [{"scheme": i.scheme.value, "value": i.value} for i in self.identifiers],
        }

    @classmethod
    def of_event(cls, data: Mapping[str, Any] | None) -> HolderDetails:
        """The details an event recorded; ``None`` (an ``Opened`` of an old log): a natural
        person without further names or identifiers."""
        if data is None:
            return cls()
        return cls(
            holder_type=HolderType(str(data.get("holder_type", HolderType.NATURAL.value))),
            further_names=tuple(str(n) for n in data.get("further_names") or ()),
            identifiers=tuple(
                HolderIdentifier(IdentifierScheme(str(i["scheme"])), str(i["value"]))
                for i in data.get("identifiers") or ()
            ),
        )


def check_name(name: str, field: str = "holderName") -> str:
    """``name`` stripped, or :class:`InvalidHolderDetails` naming ``field``."""
    text = " ".join(name.split())
    if not text:
        raise InvalidHolderDetails(f"{field}: must not be blank")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidHolderDetails(f"{field}: at most {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in name):
        raise InvalidHolderDetails(f"{field}: control characters are not allowed")
    return text


def lei_check_digits_valid(lei: str) -> bool:
    """ISO 17442: the 20 characters read as a number (letters A=10 ... Z=35) are 1 mod 97."""
    digits = "".join(str(int(ch, 36)) for ch in lei)
    return int(digits) % 97 == 1


def check_identifier(scheme: str, value: str, field: str = "identifiers") -> HolderIdentifier:
    """One identifier, checked for its scheme; :class:`InvalidHolderDetails` naming ``field``."""
    try:
        kind = IdentifierScheme(scheme.strip().upper())
    except ValueError:
        known = ", ".join(s.value for s in IdentifierScheme)
        raise InvalidHolderDetails(f"{field}.scheme: one of {known}, got {scheme!r}") from None
    text = " ".join(value.split())
    if not text:
        raise InvalidHolderDetails(f"{field}.value: must not be blank")
    if len(text) > MAX_IDENTIFIER_LENGTH:
        raise InvalidHolderDetails(f"{field}.value: at most {MAX_IDENTIFIER_LENGTH} characters")
    if kind is IdentifierScheme.LEI:
        text = text.upper()
        if not _LEI.fullmatch(text):
            raise InvalidHolderDetails(
                f"{field}.value: an LEI is 18 letters or digits and 2 check digits"
            )
        if not lei_check_digits_valid(text):
            raise InvalidHolderDetails(f"{field}.value: the LEI's check digits are wrong")
    elif not _IDENTIFIER_TEXT.fullmatch(text):
        raise InvalidHolderDetails(
            f"{field}.value: letters, digits, spaces and . / - only, starting with a letter "
            "or digit"
        )
    return HolderIdentifier(kind, text)


def holder_details(
    holder_type: str | HolderType | None = None,
    further_names: Iterable[str] = (),
    identifiers: Iterable[tuple[str, str]] = (),
) -> HolderDetails:
    """Checked holder details: the type (default NATURAL), at most
    :data:`MAX_FURTHER_NAMES` further names (blank ones are refused, duplicates dropped) and
    at most :data:`MAX_IDENTIFIERS` identifiers, which only a legal person may have.

    Raises :class:`InvalidHolderDetails` naming the field (``holderType``, ``furtherNames``,
    ``identifiers``)."""
    raw_type = HolderType.NATURAL.value if holder_type is None else str(holder_type)
    try:
        kind = HolderType(raw_type.strip().upper())
    except ValueError:
        raise InvalidHolderDetails(
            f"holderType: NATURAL or LEGAL, got {str(holder_type)!r}"
        ) from None
    names: list[str] = []
    for position, name in enumerate(further_names):
        text = check_name(name, f"furtherNames[{position}]")
        if text not in names:
            names.append(text)
    if len(names) > MAX_FURTHER_NAMES:
        raise InvalidHolderDetails(f"furtherNames: at most {MAX_FURTHER_NAMES}")
    ids: list[HolderIdentifier] = []
    for position, (scheme, value) in enumerate(identifiers):
        identifier = check_identifier(scheme, value, f"identifiers[{position}]")
        if identifier not in ids:
            ids.append(identifier)
    if len(ids) > MAX_IDENTIFIERS:
        raise InvalidHolderDetails(f"identifiers: at most {MAX_IDENTIFIERS}")
    if ids and kind is not HolderType.LEGAL:
        raise InvalidHolderDetails("identifiers: only a LEGAL holder has organisation identifiers")
    return HolderDetails(kind, tuple(names), tuple(ids))
