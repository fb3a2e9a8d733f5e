"""From a message body to payment instructions, or a typed reason to dead-letter it.

The content type chooses the parser: JSON (the ingestion contract, the default) or
ISO 20022 pacs.008.001.08 XML, which may carry several payments. Either way every
payment goes through :meth:`PaymentInstruction.from_message`, the one validator that
REST uses too. A message is all or nothing: if any payment in it is invalid, the whole
message is dead-lettered untouched, so nothing is half-booked and the sender can fix
and resend it as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.iso20022.pacs008 import MessageRejected, parse_pacs008
from application.errors import InvalidCommand
from application.input_rules import JsonRefused, decode_json
from application.ledger.commands import PaymentInstruction

MAX_BODY_BYTES = 5 * 1024 * 1024

JSON_TYPES = frozenset({"application/json", "text/json"})
XML_TYPES = frozenset({"application/xml", "text/xml"})


class Undeliverable(Exception):
    """A message that can never be booked; ``reason`` is a stable code for the DLQ header."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Decoded:
    """The payments one message carries, in message order."""

    instructions: list[PaymentInstruction]
    format: str  # "json" or "pacs.008"


def decode(body: bytes, content_type: str | None, *, pacs008_channel: str) -> Decoded:
    """Parse and validate ``body``; raise :class:`Undeliverable` for anything unbookable."""
    if len(body) > MAX_BODY_BYTES:
        raise Undeliverable("too-large", f"{len(body)} bytes; at most {MAX_BODY_BYTES}")
    media = (content_type or "").split(";")[0].strip().lower()
    if not media:
        media = "application/xml" if body.lstrip()[:1] == b"<" else "application/json"
    if media in JSON_TYPES or media.endswith("+json"):
        return Decoded([_validated(m, 0, 1) for m in [_json(body)]], "json")
    if media in XML_TYPES or media.endswith("+xml"):
        try:
            messages = parse_pacs008(body, channel=pacs008_channel)
        except MessageRejected as rejected:
            raise Undeliverable(rejected.reason, rejected.detail) from None
        total = len(messages)
        return Decoded([_validated(m, i, total) for i, m in enumerate(messages)], "pacs.008")
    raise Undeliverable(
        "unsupported-content-type",
        f"content-type {content_type!r}; send application/json or application/xml (pacs.008)",
    )


def _json(body: bytes) -> Any:
    """The strict decoder: NaN, 1e999 and overlong numbers reach the parser as markers, which
    dead-letters them naming the field (``metadata.x: NaN is not valid JSON``)."""
    try:
        return decode_json(body)
    except JsonRefused as error:
        raise Undeliverable("malformed-json", str(error)) from None


def _validated(message: Any, index: int, total: int) -> PaymentInstruction:
    try:
        return PaymentInstruction.from_message(message)
    except InvalidCommand as invalid:
        where = f"payment {index + 1} of {total}: " if total > 1 else ""
        raise Undeliverable(classify(invalid.problems), where + str(invalid)) from None


def classify(problems: list[str]) -> str:
    """Name the dead-letter reason after the fields at fault, most specific first."""
    fields = [problem.partition(":")[0] for problem in problems]
    if any(f.endswith(".iban") for f in fields):
        return "invalid-iban"
    if any(
        "currency" in p and (f in {"currency", "amount"})
        for f, p in zip(fields, problems, strict=True)
    ):
        return "unsupported-currency"
    return "schema-violation"
