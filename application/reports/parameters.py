"""Typed report parameters: what a client may pass as ``name=value`` text, and the check that
turns the text into a value or a :class:`ReportParameterError` naming the parameter.

Every parameter arrives as text (``--param k=v`` on the CLI, a query string in REST, a list
of ``{name, value}`` in GraphQL), so one parser serves every edge. The parsed values have one
canonical text form (:func:`canonical`), which goes into the report run's event and into the
file's identity: the same parameters, however spelled, give the same report.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from application.errors import InvalidCommand
from application.input_rules import MAX_YEAR, MIN_YEAR, text_problem
from domain.money import check_currency

MAX_TEXT = 64
"""Characters of a text parameter (an account key, a channel)."""
MAX_AMOUNT_TEXT = 40
MAX_AMOUNT = 10**18
"""Amounts a parameter may name (the read models hold NUMERIC(38, 8))."""
MAX_THRESHOLDS = 32
"""Currencies one ``thresholds`` parameter may list."""


_NAME = re.compile(r"[a-z_]{1,32}")


class ReportParameterError(InvalidCommand):
    """A report parameter is missing, unknown or malformed; ``parameter`` names it."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter


class Kind(enum.StrEnum):
    DATE = "date"  # ISO 8601 calendar date, a business date
    CURRENCY = "currency"  # ISO 4217 code of a bookable currency
    ACCOUNT = "account"  # IBAN (any spacing, any case) or internal code kind:CCY
    AMOUNT = "amount"  # non-negative decimal
    TEXT = "text"  # a short identifier such as a channel
    THRESHOLDS = "thresholds"  # CCY=amount,CCY=amount


@dataclass(frozen=True)
class Parameter:
    """One parameter of a report: its name, kind, whether it is required, its default."""

    name: str
    kind: Kind
    help: str
    required: bool = False
    default: str | None = None

    def parse(self, raw: str) -> Any:
        """The value of ``raw`` (text), or :class:`ReportParameterError` naming this parameter."""
        text = raw.strip()
        if len(text) > (MAX_TEXT * 8 if self.kind is Kind.THRESHOLDS else MAX_TEXT):
            raise ReportParameterError(self.name, "too long")
        problem = text_problem(text)
        if problem is not None:
            raise ReportParameterError(self.name, problem)
        if self.kind is Kind.DATE:
            return _date(self.name, text)
        if self.kind is Kind.CURRENCY:
            return _currency(self.name, text)
        if self.kind is Kind.ACCOUNT:
            return _account(self.name, text)
        if self.kind is Kind.AMOUNT:
            return _amount(self.name, text)
        if self.kind is Kind.THRESHOLDS:
            return _thresholds(self.name, text)
        if not text:
            raise ReportParameterError(self.name, "must not be empty")
        return text


def _date(name: str, text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ReportParameterError(name, f"not an ISO 8601 date (YYYY-MM-DD): {text!r}") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ReportParameterError(name, f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    return value


def _currency(name: str, text: str) -> str:
    code = text.upper()
    try:
        return check_currency(code)
    except ValueError:
        raise ReportParameterError(name, f"not a bookable ISO 4217 currency: {text!r}") from None


def _account(name: str, text: str) -> str:
    """The stored form of an account key: compact upper-case IBAN, or ``kind:CCY``."""
    kind, sep, currency = text.partition(":")
    if sep:
        key = f"{kind.strip().lower()}:{currency.strip().upper()}"
    else:
        key = "".join(text.split()).upper()
    if not key or not all(ch.isalnum() or ch in ":_-" for ch in key):
        raise ReportParameterError(name, f"not an IBAN or internal account code: {text!r}")
    return key


def _amount(name: str, text: str) -> Decimal:
    if len(text) > MAX_AMOUNT_TEXT:
        raise ReportParameterError(name, "too long")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ReportParameterError(name, f"not a decimal amount: {text!r}") from None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -8:  # type: ignore[operator]
        raise ReportParameterError(name, "must be a non-negative amount with at most 8 decimals")
    if value >= MAX_AMOUNT:
        raise ReportParameterError(name, f"must be below {MAX_AMOUNT:,}")
    return value


def _thresholds(name: str, text: str) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise ReportParameterError(name, "expected CCY=amount[,CCY=amount...]")
    if len(items) > MAX_THRESHOLDS:
        raise ReportParameterError(name, f"at most {MAX_THRESHOLDS} currencies")
    for item in items:
        code, sep, amount = item.partition("=")
        if not sep:
            raise ReportParameterError(name, f"expected CCY=amount, got {item.strip()!r}")
        currency = _currency(name, code.strip())
        if currency in result:
            raise ReportParameterError(name, f"{currency} given twice")
        result[currency] = _amount(name, amount.strip())
    return dict(sorted(result.items()))


def parse_parameters(parameters: tuple[Parameter, ...], raw: Mapping[str, str]) -> dict[str, Any]:
    """Every parameter's value (defaults applied; absent optional ones are None), or the
    first problem as :class:`ReportParameterError` naming the parameter."""
    known = {p.name: p for p in parameters}
    for given in sorted(raw):
        if not _NAME.fullmatch(given):
            raise ReportParameterError("params", "a parameter name is lower-case letters and _")
        if given not in known:
            names = ", ".join(known) or "none"
            raise ReportParameterError(given, f"unknown parameter (this report takes: {names})")
    values: dict[str, Any] = {}
    for parameter in parameters:
        text = raw.get(parameter.name)
        if text is None or not text.strip():
            if parameter.required:
                raise ReportParameterError(parameter.name, "is required")
            text = parameter.default
        values[parameter.name] = None if text is None else parameter.parse(text)
    return values


def canonical(values: Mapping[str, Any]) -> str:
    """One text form of parsed values, sorted by name (absent values left out):
    ``currency=EUR;from=2026-03-01`` — the same whatever spelling the client used."""
    parts: list[str] = []
    for name in sorted(values):
        value = values[name]
        if value is None:
            continue
        if isinstance(value, dict):
            text = ",".join(f"{k}={format(v, 'f')}" for k, v in value.items())
        elif isinstance(value, Decimal):
            text = format(value, "f")
        elif isinstance(value, date):
            text = value.isoformat()
        else:
            text = str(value)
        parts.append(f"{name}={text}")
    return ";".join(parts)
