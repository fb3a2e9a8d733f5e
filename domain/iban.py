"""IBAN value object, validated by schwifty (checksum, length and country format)."""

from __future__ import annotations

from dataclasses import dataclass

from schwifty import IBAN as _SchwiftyIban
from schwifty.exceptions import SchwiftyException

from domain.errors import InvalidIban


@dataclass(frozen=True, slots=True)
class Iban:
    """A valid IBAN in compact form (no spaces, upper case)."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", normalise_iban(self.value))

    @property
    def country_code(self) -> str:
        return self.value[:2]

    def masked(self) -> str:
        """The IBAN with all but country, check digits and last four characters hidden."""
        return f"{self.value[:4]}{'*' * (len(self.value) - 8)}{self.value[-4:]}"

    def __str__(self) -> str:
        return self.value


def normalise_iban(raw: str) -> str:
    """Return the compact form of ``raw`` or raise :class:`InvalidIban` saying why."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidIban("IBAN is empty")
    try:
        return str(_SchwiftyIban(raw).compact)
    except SchwiftyException as error:
        raise InvalidIban(f"invalid IBAN {raw!r}: {error}") from None
