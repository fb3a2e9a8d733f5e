"""Organisation identifiers (LEI, VAT number, national registration) and when two are equal.

For a legal person the scheme lets the payer give an identifier instead of (or with) the
name; an identifier match decides. Values compare after normalisation: transliterated,
upper-cased, letters and digits only ("DE 123.456.789" = "de123456789"). A VAT number or a
national registration also equals itself without the letters before its first digit (the
country prefix "DE123456789" = "123456789", the register "KRS 0000123456" = "0000123456",
"ATU12345678" = "U12345678"); an LEI must be equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from anyascii import anyascii

_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_LETTER_PREFIX = re.compile(r"^[A-Z]+(?=[0-9])")


class IdentifierScheme(StrEnum):
    """The kinds of organisation identifier the directory holds."""

    LEI = "LEI"  # ISO 17442 Legal Entity Identifier, 20 characters
    VAT = "VAT"  # VAT identification number, with or without its country prefix
    NATIONAL = "NATIONAL"  # national registration (e.g. "HRB 12345", KRS, SIREN, KvK)


def normalise_identifier(value: str) -> str:
    """Upper-case ASCII letters and digits only."""
    return _NOT_ALNUM.sub("", anyascii(value).upper())


@dataclass(frozen=True, slots=True)
class OrganisationId:
    """An identifier of a legal person under a scheme."""

    scheme: IdentifierScheme
    value: str

    @property
    def normalised(self) -> str:
        return normalise_identifier(self.value)

    def same_as(self, other: OrganisationId) -> bool:
        """Whether both identify the same organisation under the same scheme."""
        if self.scheme is not other.scheme:
            return False
        mine, theirs = self.normalised, other.normalised
        if not mine or not theirs:
            return False
        if mine == theirs:
            return True
        if self.scheme is IdentifierScheme.LEI:
            return False
        return _LETTER_PREFIX.sub("", mine) == _LETTER_PREFIX.sub("", theirs)
