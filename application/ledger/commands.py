"""Commands as validated value objects, parsed from untrusted input.

``PaymentInstruction.from_message`` is the one parser of the ingestion message
(REST and the message queue both use it), so every channel gets the same
validation and the same readable errors. Its bounds on free-form input (``metadata`` depth,
size, keys and values; text encodable as UTF-8; ``requestedAt`` within a sane range of years)
are the rules of :mod:`application.input_rules`: anything it accepts can be stored, projected
and served back as valid JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.errors import InvalidCommand
from application.input_rules import instant_problem, json_problems, text_problem
from domain.errors import DomainError
from domain.iban import Iban
from domain.ledger.holders import HolderDetails
from domain.ledger.transactions import RESERVED_CHANNELS
from domain.money import Money

MAX_TEXT = 140  # ISO 20022 Max140Text, the longest free text a payment carries
MAX_ID = 64


@dataclass(frozen=True, slots=True)
class Party:
    iban: Iban
    name: str


@dataclass(frozen=True, slots=True)
class PaymentInstruction:
    """A payment to book: idempotency key ``(channel, external_id)``."""

    external_id: str
    channel: str
    debtor: Party
    creditor: Party
    amount: Money
    reference: str = ""
    requested_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    vop_check_id: str | None = None
    """The Verification of Payee check the payer saw (a UUID); recorded, never blocking."""

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> PaymentInstruction:
        """Validate the ingestion JSON (already decoded) and build the instruction.

        Raises :class:`InvalidCommand` listing every problem found, each as
        ``"field: what is wrong"``.
        """
        if not isinstance(message, Mapping):
            raise InvalidCommand("message must be a JSON object")
        problems: list[str] = []
        external_id = _text(message, "externalId", problems, MAX_ID, required=True)
        channel = _text(message, "channel", problems, MAX_ID, required=True)
        debtor = _party(message, "debtor", problems)
        creditor = _party(message, "creditor", problems)
        currency = _text(message, "currency", problems, 3, required=True)
        amount: Money | None = None
        raw_amount = message.get("amount")
        if raw_amount is None:
            problems.append("amount: required")
        elif not isinstance(raw_amount, str):
            problems.append('amount: must be a decimal string such as "125.40"')
        elif currency:
            try:
                amount = Money.parse(raw_amount, currency)
            except DomainError as error:
                problems.append(f"amount: {error}")
            else:
                if amount.amount <= 0:
                    problems.append("amount: must be greater than zero")
        reference = _text(message, "reference", problems, MAX_TEXT, required=False)
        requested_at = _timestamp(message, "requestedAt", problems)
        metadata = message.get("metadata", {})
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, Mapping):
            problems.append("metadata: must be an object")
            metadata = {}
        else:
            problems.extend(json_problems(metadata, "metadata"))
        vop_check_id = _uuid(message, "vopCheckId", problems)
        if channel.upper() in RESERVED_CHANNELS:
            problems.append(f"channel: {channel.upper()} is reserved for the ledger's own bookings")
        if problems or debtor is None or creditor is None or amount is None:
            raise InvalidCommand("; ".join(problems) or "invalid payment", problems)
        return cls(
            external_id=external_id,
            channel=channel.upper(),
            debtor=debtor,
            creditor=creditor,
            amount=amount,
            reference=reference,
            requested_at=requested_at,
            metadata={str(k): v for k, v in metadata.items()},
            vop_check_id=vop_check_id,
        )


def _text(
    message: Mapping[str, Any], name: str, problems: list[str], max_len: int, *, required: bool
) -> str:
    value = message.get(name)
    if isinstance(value, str):
        value = value.strip()  # a blank name is a missing name
    if value is None or value == "":
        if required:
            problems.append(f"{name}: required")
        return ""
    if not isinstance(value, str):
        problems.append(f"{name}: must be a string")
        return ""
    if len(value) > max_len:
        problems.append(f"{name}: at most {max_len} characters")
        return ""
    if any(ord(ch) < 32 for ch in value):
        problems.append(f"{name}: control characters are not allowed")
        return ""
    problem = text_problem(value)
    if problem is not None:
        problems.append(f"{name}: {problem}")
        return ""
    return value


def _party(message: Mapping[str, Any], name: str, problems: list[str]) -> Party | None:
    value = message.get(name)
    if not isinstance(value, Mapping):
        problems.append(f"{name}: required object with iban and name")
        return None
    inner: list[str] = []
    holder = _text(value, "name", inner, MAX_TEXT, required=True)
    raw_iban = value.get("iban")
    iban: Iban | None = None
    if not isinstance(raw_iban, str):
        inner.append("iban: required string")
    else:
        try:
            iban = Iban(raw_iban)
        except DomainError as error:
            inner.append(f"iban: {error}")
    problems.extend(f"{name}.{problem}" for problem in inner)
    if iban is None or inner:
        return None
    return Party(iban, holder)


def _uuid(message: Mapping[str, Any], name: str, problems: list[str]) -> str | None:
    """An optional UUID field, in its canonical form (lower case, hyphenated)."""
    value = message.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name}: must be a UUID string")
        return None
    try:
        if len(value) > MAX_ID:
            raise ValueError
        return str(UUID(value.strip()))
    except ValueError:
        problems.append(f"{name}: must be a UUID")
        return None


def _timestamp(message: Mapping[str, Any], name: str, problems: list[str]) -> datetime | None:
    value = message.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name}: must be an ISO 8601 timestamp string")
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        problems.append(f"{name}: not an ISO 8601 timestamp: {shown!r}")
        return None
    problem = instant_problem(parsed, name)  # zone, UTC overflow, year range
    if problem is not None:
        problems.append(problem)
        return None
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class OpenAccount:
    iban: Iban
    holder_name: str
    currency: str
    overdraft_limit: Decimal = Decimal(0)
    holder: HolderDetails = field(default_factory=HolderDetails)
    """Holder type, further names, identifiers (a natural person without any by default)."""


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """What a channel is told about its payment; the same for a repeat."""

    transaction_id: str
    status: str
    duplicate: bool = False
    reason: str | None = None
