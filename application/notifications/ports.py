"""What the notifications context needs from the outside world, as ``typing.Protocol``:
where rule positions are kept (:class:`PositionStore`), which deliveries are due
(:class:`DueDeliveries`), the channels that send (:class:`NotificationChannel`, with what
they send and answer), and the other contexts' logs (:class:`ContextFeed`, read through the
shared :data:`~application.ports.EventFeed`, with :data:`Facts` about their events).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.ports import EventFeed


class PositionStore(Protocol):
    """Where the evaluator keeps how far each rule (``key``, see
    :func:`~application.notifications.evaluation.position_key`) has read each context's
    log."""

    def get(self, key: str, context: str) -> int | None:
        """The last notification id evaluated in ``context`` (None: never read)."""
        ...

    def set(self, key: str, context: str, position: int) -> None:
        """Store ``position``, unless the stored one is further already (never backwards:
        a slower evaluator must not make the next one read the same events again)."""
        ...


class DueDeliveries(Protocol):
    """Finds the pending deliveries whose next attempt is due."""

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        """At most ``limit`` ids, the longest-waiting first."""
        ...


@dataclass(frozen=True, slots=True)
class OutgoingNotification:
    """What a channel sends: the delivery's id (receivers drop repeats by it), the rule and
    the payload (plain data, IBANs masked)."""

    delivery_id: str
    rule: str
    event_type: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """How an attempt went: ``delivered``; otherwise ``permanent`` says not to retry."""

    delivered: bool
    detail: str = ""
    permanent: bool = False


class NotificationChannel(Protocol):
    """Sends one notification to one target (a webhook URL, an address, a destination)."""

    def send(self, target: str, notification: OutgoingNotification) -> ChannelResult: ...


Facts = Callable[[object], Mapping[str, Any]]
"""Extra facts about an event from its own context (a held payment's currency and parties)."""


@dataclass(frozen=True)
class ContextFeed:
    """One context's log as the evaluator reads it."""

    context: str
    feed: EventFeed
    head: Callable[[], int]
    """The last notification id in the log now."""
    facts: Facts | None = None
