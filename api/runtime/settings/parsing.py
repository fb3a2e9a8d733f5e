"""Text of a variable to a typed value, with the messages the ledger has always given.

Each function returns a pydantic ``BeforeValidator``: it converts a string (what the
environment holds) and leaves any other value (a test passing a number) to the field's type.
A bad value raises ``ValueError`` (or :class:`.base.Problems` for several); the section puts
the variable's name in front of the message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BeforeValidator

from api.runtime.settings.base import Problems
from domain.errors import InvalidMoney
from domain.money import check_currency


def when_text(convert: Callable[[str], Any]) -> BeforeValidator:
    return BeforeValidator(lambda value: convert(value) if isinstance(value, str) else value)


def integer(low: int | None = None, high: int | None = None) -> BeforeValidator:
    """A whole number, ``low`` to ``high`` inclusive."""

    def convert(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be an integer, got {raw!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {bounds}, got {value}")
        return value

    return when_text(convert)


def seconds(check: Callable[[float], bool], problem: str) -> BeforeValidator:
    """A number of seconds; ``problem`` when ``check`` refuses it."""

    def convert(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {raw!r}") from None
        if not check(value):
            raise ValueError(problem)
        return value

    return when_text(convert)


def positive_seconds() -> BeforeValidator:
    return seconds(lambda v: math.isfinite(v) and v > 0, "must be a positive number of seconds")


def rate() -> BeforeValidator:
    """A non-negative, finite number of requests per second (0: no limit)."""

    def convert(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"must be a number of requests per second, got {raw!r}") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"must be 0 (no limit) or a positive number, got {raw!r}")
        return value

    return when_text(convert)


def score() -> BeforeValidator:
    """A score threshold between 0 and 1."""

    def convert(raw: str) -> Decimal:
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"must be a decimal between 0 and 1, got {raw!r}") from None
        if not value.is_finite() or not 0 <= value <= 1:
            raise ValueError(f"must be between 0 and 1, got {raw!r}")
        return value

    return when_text(convert)


def bounded(low: float, high: float, *, whole: bool) -> BeforeValidator:
    """A number ``low`` to ``high`` (the GraphQL budget's wording)."""

    def convert(raw: str) -> float:
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            kind = "an integer" if whole else "a number"
            raise ValueError(f"must be {kind}, got {raw!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"must be between {low:g} and {high:g}, got {raw}")
        return value

    return when_text(convert)


def choice(options: tuple[str, ...], problem: str, *, upper: bool = False) -> BeforeValidator:
    """One of ``options`` (case-insensitive); ``problem`` may name ``{value!r}``."""

    def convert(raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise ValueError(problem.format(value=value))
        return value

    return when_text(convert)


def limits() -> BeforeValidator:
    """Per-currency amounts, ``"EUR:10000,USD:10000"``; ``none`` means no limits."""
    return when_text(parse_limits)


def parse_limits(text: str) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    problems: list[str] = []
    if text.lower() == "none":
        return found
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, sep, amount = item.partition(":")
        currency = currency.strip().upper()
        if not sep:
            problems.append(f"{item!r} must look like CCY:AMOUNT, e.g. EUR:10000")
            continue
        try:
            check_currency(currency)
        except InvalidMoney as error:
            problems.append(str(error))
            continue
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            problems.append(f"{item!r}: {amount.strip()!r} is not a decimal amount")
            continue
        if not value.is_finite() or value <= 0:
            problems.append(f"{item!r}: the amount must be greater than zero")
            continue
        if currency in found:
            problems.append(f"{currency} is given twice")
            continue
        found[currency] = value
    if problems:
        raise Problems(problems)
    return found
