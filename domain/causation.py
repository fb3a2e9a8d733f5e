"""Who caused an event (actor, correlation id, channel) and when it was recorded.

The edge (REST, GraphQL, STOMP consumer, CLI) sets the current causation in a
``ContextVar`` for the duration of one request or message; every event an
aggregate triggers while it is set is stamped with it. The domain only reads
the variable, so replaying stored events never depends on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Causation:
    """The actor (``user:<name>`` or ``service:<role>``), correlation id and channel."""

    actor: str = "service:system"
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    channel: str = "SYSTEM"


_current: ContextVar[Causation | None] = ContextVar("ledger_causation", default=None)


def current_causation() -> Causation:
    """The causation in force, or a fresh system causation when none was set."""
    causation = _current.get()
    return causation if causation is not None else Causation()


@contextmanager
def caused_by(causation: Causation) -> Iterator[Causation]:
    """Set ``causation`` for the events triggered inside the ``with`` block."""
    token = _current.set(causation)
    try:
        yield causation
    finally:
        _current.reset(token)


_recorded_at: ContextVar[datetime | None] = ContextVar("ledger_recorded_at", default=None)


def current_recording_time() -> datetime | None:
    """The timestamp shared by every event of the unit of work in progress, if any."""
    return _recorded_at.get()


@contextmanager
def recording_at(timestamp: datetime) -> Iterator[datetime]:
    """Give every event triggered inside the block the same ``timestamp``.

    One commit is one instant: all events a use case saves together carry the
    same recorded-at time, so a point-in-time query never sees half a posting.
    """
    token = _recorded_at.set(timestamp)
    try:
        yield timestamp
    finally:
        _recorded_at.reset(token)
