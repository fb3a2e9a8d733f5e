"""Money: a ``Decimal`` amount in an ISO 4217 currency, at that currency's scale.

Floats are refused outright: a binary float cannot represent most cent amounts,
and a ledger that accepts one has already lost the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from iso4217 import Currency

from domain.errors import InvalidMoney

MAX_INTEGER_DIGITS = 18
"""Largest magnitude a ledger amount may have (10**18 - 1), far beyond any real payment,
and small enough to stay exact in a 28-digit Decimal context and a NUMERIC(38, 8) column."""


@cache
def minor_unit(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (EUR 2, JPY 0, BHD 3).

    Raises :class:`InvalidMoney` for codes that are not ISO 4217 currencies or
    have no minor unit (funds and precious metals such as ``XAU``).
    """
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise InvalidMoney(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise InvalidMoney(f"unknown ISO 4217 currency {currency!r}") from None
    if exponent is None:
        raise InvalidMoney(f"currency {currency!r} has no minor unit and cannot be booked")
    return int(exponent)


def check_currency(currency: str) -> str:
    """Return ``currency`` if it is a bookable ISO 4217 code, else raise."""
    minor_unit(currency)
    return currency


def _shown(value: object) -> str:
    """``value`` for an error message: its repr, cut to 40 characters (a client may send
    10,000 digits; the message needs only enough to recognise them)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def parse_amount(value: object, currency: str) -> Decimal:
    """Parse a decimal string (or ``Decimal``/``int``) into an amount at ``currency``'s scale.

    The value must not carry more decimal places than the currency allows:
    ``"1.005"`` EUR is refused rather than silently rounded.
    """
    if isinstance(value, float | bool):
        raise InvalidMoney("amounts must be decimal strings, never floats")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | str):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidMoney(f"not a decimal amount: {_shown(value)}") from None
    else:
        raise InvalidMoney(f"not a decimal amount: {_shown(value)}")
    if not amount.is_finite():
        raise InvalidMoney(f"not a finite amount: {_shown(value)}")
    if amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidMoney(f"amount {_shown(value)} exceeds {MAX_INTEGER_DIGITS} integer digits")
    places = minor_unit(currency)
    exponent = amount.as_tuple().exponent
    # Trailing zeros beyond the scale are harmless ("1.500" EUR); real digits are not.
    too_precise = isinstance(exponent, int) and -exponent > places
    if too_precise and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InvalidMoney(f"{currency} allows {places} decimal places, got {_shown(value)}")
    return amount.quantize(Decimal(1).scaleb(-places))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency. Arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", parse_amount(self.amount, self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def parse(cls, amount: object, currency: str) -> Money:
        """Build from an untrusted decimal string and currency code."""
        check_currency(currency)
        return cls(parse_amount(amount, currency), currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidMoney(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
