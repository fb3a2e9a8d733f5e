"""What a projection consumes: a domain event with its place in a context's log."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from application.quarantine import Unreadable
from domain.aggregate import ENVELOPE_FIELDS
from domain.money import minor_unit


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded domain event at ``position`` (notification id) of ``context``'s log.

    ``notification`` is the raw row it was decoded from, as recorded (the audit chain hashes
    those bytes, not the decoded event); ``None`` for envelopes built in memory.
    """

    context: str
    position: int
    event: Any
    notification: Notification | None = field(default=None, compare=False, repr=False)

    @property
    def readable(self) -> bool:
        """False for a stored event that could not be decoded (``event`` is then an
        :class:`~application.quarantine.Unreadable`)."""
        return not isinstance(self.event, Unreadable)

    @property
    def event_type(self) -> str:
        """The event class as eventsourcing names it, e.g. ``"Account.Debited"``."""
        return type(self.event).__qualname__

    @property
    def kind(self) -> str:
        """The last part of :attr:`event_type`, e.g. ``"Debited"``."""
        return self.event_type.rpartition(".")[2]

    @property
    def stream_type(self) -> str:
        """The aggregate class name, e.g. ``"Account"``."""
        head, sep, _ = self.event_type.rpartition(".")
        if sep:
            return head.rpartition(".")[2]
        topic = getattr(self.event, "originator_topic", "") or ""
        return str(topic).rpartition(":")[2] or self.event_type

    @property
    def stream_id(self) -> str:
        return str(self.event.originator_id)

    @property
    def version(self) -> int:
        return int(self.event.originator_version)

    @property
    def recorded_at(self) -> datetime:
        return as_utc(self.event.timestamp)

    def payload(self) -> dict[str, Any]:
        """The event's own fields (the envelope fields removed), JSON-safe."""
        event = self.event
        if dataclasses.is_dataclass(event):
            state = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
        else:
            state = dict(vars(event))
        return {str(k): json_safe(v) for k, v in state.items() if k not in ENVELOPE_FIELDS}


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


MAX_JSON_DEPTH = 64
"""How deep :func:`json_safe` follows nested containers; deeper values become :data:`TRUNCATED`."""

TRUNCATED = f"<truncated: nested deeper than {MAX_JSON_DEPTH} levels>"


def json_safe(value: Any) -> Any:
    """Turn event values into strict JSON: Decimal, UUID and datetimes as strings.

    Never fails on content (issue #12): it walks containers with an explicit stack (no
    recursion, so no ``RecursionError`` however deep a client nested its ``metadata``),
    cuts nesting at :data:`MAX_JSON_DEPTH` (the rest becomes :data:`TRUNCATED`, so the
    result is shallow enough for any JSON encoder), and renders NaN and infinities as
    strings (``"NaN"``, ``"Infinity"``, ``"-Infinity"``), which JSON and PostgreSQL's
    JSONB do not accept as numbers. Sets become lists sorted by ``repr``.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]
    unordered: list[list[Any]] = []  # converted sets, sorted once their items are final
    while stack:
        item, parent, key, depth = stack.pop()
        while isinstance(item, Enum):
            item = item.value
        if isinstance(item, Mapping | list | tuple | set | frozenset):
            if depth >= MAX_JSON_DEPTH:
                parent[key] = TRUNCATED
                continue
            if isinstance(item, Mapping):
                mapping: dict[str, Any] = {}
                parent[key] = mapping
                pairs = [(str(k), v) for k, v in item.items()]
                for name, _ in pairs:
                    mapping[name] = None  # keeps the keys' order
                # pushed in reverse, so processed in order: the last of equal keys wins
                stack.extend((v, mapping, name, depth + 1) for name, v in reversed(pairs))
            else:
                items = list(item)
                converted: list[Any] = [None] * len(items)
                parent[key] = converted
                if isinstance(item, set | frozenset):
                    unordered.append(converted)
                stack.extend(
                    (v, converted, i, depth + 1) for i, v in reversed(list(enumerate(items)))
                )
            continue
        parent[key] = _scalar(item)
    for converted in reversed(unordered):  # inner sets first: an outer one sorts by them
        converted.sort(key=repr)
    return root[0]


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` at ``currency``'s minor-unit scale ("125.40", not "125.40000000")."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)))
