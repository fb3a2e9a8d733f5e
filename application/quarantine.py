"""No event can stop a follower of the event log: what cannot be handled is quarantined.

Every follower of a log (the projections, the audit chain, the outbox, the notification rule
evaluator, the fraud model's online features) reads events in order and must go on past an
event it cannot handle: one stored event, a client's hostile payload or a bug met by one event
only, must never stop everything behind it (issue #12). Such an event is *parked* for that
follower only: recorded with its error through the :class:`Quarantine` port (the read-model
table ``rm_quarantine``, see :mod:`projections.quarantine`), announced by one ERROR log line
(:func:`alert`), counted by the ``ledger_quarantined_events`` gauge, and skipped; an operator
lists, fixes and retries it (``ledger projections quarantine list|retry``).

Transient failures (the database or broker went away: :data:`TRANSIENT`) are not the event's
fault: they are raised, and the follower retries the same event later.

This module is framework-free (the application layer's rule); the pieces:

* :class:`Unreadable` stands in for a stored event that could not be decoded
  (:func:`read_event`), so a follower sees *that* there was an event and where;
* :class:`Parked` is what is recorded of a quarantined event;
* :class:`Guard` runs one follower's handler on one event and parks what fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.utils import get_topic

log = logging.getLogger("ledger.quarantine")

TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
"""Errors that say the infrastructure failed, not the event: retried, never quarantined."""

MAX_ERROR_CHARS = 2000

T = TypeVar("T")


class UnreadableEventError(ValueError):
    """A stored event could not be turned back into a domain event."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Stands in for the stored event at a position of a log that could not be decoded."""

    originator_id: str
    originator_version: int
    topic: str
    error: BaseException

    @property
    def timestamp(self) -> None:
        """Unknown: the timestamp is inside the state that could not be decoded."""
        return None


def read_event(mapper: Any, notification: Notification) -> object:
    """``notification`` decoded by ``mapper`` (an eventsourcing ``Mapper``), or an
    :class:`Unreadable` naming it and why it could not be decoded."""
    try:
        event: object = mapper.to_domain_event(notification)
    except Exception as error:
        cause = UnreadableEventError(
            f"cannot decode {notification.topic} of {notification.originator_id} "
            f"v{notification.originator_version}: {error!r}"
        )
        cause.__cause__ = error
        return Unreadable(
            str(notification.originator_id),
            int(notification.originator_version),
            notification.topic,
            cause,
        )
    return event


@dataclass(frozen=True, slots=True)
class Parked:
    """What is recorded of an event a follower could not handle."""

    follower: str
    """``accounts`` (a projection), ``outbox``, ``notification-rules``, ``fraud-features``."""
    context: str
    position: int
    originator_id: str
    originator_version: int
    topic: str
    error_type: str
    error: str

    @classmethod
    def of(
        cls, follower: str, context: str, position: int, event: object, error: BaseException
    ) -> Parked:
        """The record of ``event`` at ``position`` of ``context``'s log failing with ``error``."""
        if isinstance(event, Unreadable):
            topic = event.topic
        else:
            try:
                topic = get_topic(type(event))
            except Exception:  # pragma: no cover - any class has a topic
                topic = type(event).__qualname__
        cause = getattr(error, "cause", None) or error  # a ProjectionError's own cause
        return cls(
            follower=follower,
            context=context,
            position=int(position),
            originator_id=str(getattr(event, "originator_id", "") or ""),
            originator_version=int(getattr(event, "originator_version", 0) or 0),
            topic=topic,
            error_type=type(cause).__qualname__,
            error=_message(error),
        )

    def describe(self) -> str:
        """The alert's text: where, which event, what kind of error (never the message or
        any payload, which may quote an account number or a client's data)."""
        return (
            f"event quarantined: follower={self.follower} context={self.context} "
            f"position={self.position} originator={self.originator_id} "
            f"version={self.originator_version} topic={self.topic} "
            f"error_type={self.error_type}"
        )


def _message(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # pragma: no cover - a broken __str__
        text = repr(type(error))
    return text[:MAX_ERROR_CHARS]


class Quarantine(Protocol):
    """Where parked events are recorded (idempotent per follower, context and position:
    parking the same event again counts one more attempt)."""

    def park(self, parked: Parked) -> None: ...


def alert(parked: Parked) -> None:
    """The alert-worthy ERROR line of a newly parked event (structured as ``key=value`` and
    as ``extra`` fields; no payload, no error message: see :meth:`Parked.describe`)."""
    log.error(
        parked.describe(),
        extra={
            "quarantine_follower": parked.follower,
            "quarantine_context": parked.context,
            "quarantine_position": parked.position,
            "quarantine_error_type": parked.error_type,
        },
    )


class Guard:
    """Runs one follower's handler event by event and quarantines what it cannot handle.

    ``quarantine`` None (tests, tools without a read-model database) still skips the event
    and logs the alert: the follower goes on either way.
    """

    def __init__(
        self,
        follower: str,
        context: str,
        quarantine: Quarantine | None,
        *,
        transient: tuple[type[BaseException], ...] = TRANSIENT,
    ) -> None:
        self.follower = follower
        self.context = context
        self.quarantine = quarantine
        self.transient = transient
        self.parked = 0

    def handle(self, position: int, event: object, handler: Callable[[object], T]) -> T | None:
        """``handler(event)``; None when the event was parked instead (unreadable, or the
        handler raised). Transient errors are raised: the caller retries later."""
        if isinstance(event, Unreadable):
            self.park(position, event, event.error)
            return None
        try:
            return handler(event)
        except self.transient:
            raise
        except Exception as error:
            self.park(position, event, error)
            return None

    def park(self, position: int, event: object, error: BaseException) -> None:
        parked = Parked.of(self.follower, self.context, position, event, error)
        if self.quarantine is not None:
            self.quarantine.park(parked)
        self.parked += 1
        alert(parked)
