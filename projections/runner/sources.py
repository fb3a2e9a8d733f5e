"""Where the projector reads events: the notification log of one bounded context.

No module here imports a context's projections, so any context may use it (the audit chain's
verification reads the logs through :class:`EventSource`).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Subscription

from application.quarantine import read_event
from projections.base import ProjectionError
from projections.events import Envelope


class UndecodableEvent(ProjectionError):
    """A stored event could not be turned back into a domain event."""

    def __init__(
        self, context: str, notification: Notification | None, cause: BaseException
    ) -> None:
        where = (
            f"{context}#{notification.id} ({notification.topic} of "
            f"{notification.originator_id} v{notification.originator_version})"
            if notification is not None
            else context
        )
        RuntimeError.__init__(self, f"cannot decode {where}: {cause!r}")
        self.projection = "*"
        self.envelope = None
        self.cause = cause


class EventSource:
    """The notification log of one bounded context's eventsourcing ``Application``."""

    def __init__(self, app: Application[Any], name: str | None = None) -> None:
        self.app = app
        self.name: str = name or app.name

    def read(
        self, after: int, limit: int, stop: int | None = None, *, tolerant: bool = False
    ) -> list[Envelope]:
        """Up to ``limit`` events with notification ids above ``after`` (and <= ``stop``);
        ``tolerant``: an event that cannot be decoded comes as an
        :class:`~application.quarantine.Unreadable` envelope instead of raising."""
        decode = self.envelope if tolerant else self.decode
        return [decode(n) for n in self.notifications(after, limit, stop)]

    def notifications(self, after: int, limit: int, stop: int | None = None) -> list[Notification]:
        return list(self.app.recorder.select_notifications(start=after + 1, limit=limit, stop=stop))

    def decode(self, notification: Notification) -> Envelope:
        try:
            event = self.app.mapper.to_domain_event(notification)
        except Exception as error:
            raise UndecodableEvent(self.name, notification, error) from error
        return Envelope(self.name, notification.id, event, notification)

    def envelope(self, notification: Notification) -> Envelope:
        """``notification`` decoded, or (when it cannot be) an unreadable envelope."""
        return Envelope(
            self.name, notification.id, read_event(self.app.mapper, notification), notification
        )

    def head(self) -> int:
        """The last notification id in the log (0 when empty)."""
        return int(self.app.recorder.max_notification_id() or 0)

    def subscribe(self, after: int) -> Subscription[Any]:
        """A LISTEN/NOTIFY subscription from ``after``; ``NotImplementedError`` on SQLite."""
        return self.app.recorder.subscribe(gt=after)
