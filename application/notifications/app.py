"""The notifications context: rules over the other contexts' event logs, and delivery.

* :class:`NotificationsApplication` (``notifications``, its own event table) keeps the
  :class:`~domain.notifications.deliveries.Delivery` aggregates.
* :class:`~application.notifications.evaluation.RuleEvaluator` reads each context's log
  after its stored position (a :class:`~application.notifications.ports.PositionStore`),
  schedules a delivery for every active rule an event matches, then stores the new position.
  Reading is at-least-once (a crash before the position is stored reads the events again)
  and a delivery's id derives from the rule and the event's place in its log, so a second
  scheduling conflicts and is skipped: each delivery exists once.
* :class:`~application.notifications.sending.NotificationSender` takes the deliveries that
  are due (:class:`~application.notifications.ports.DueDeliveries`, bounded per step),
  sends each through its :class:`~application.notifications.ports.NotificationChannel` and
  records the attempt: delivered, retried after an exponential back-off, or given up. A
  channel that raises is a failed attempt, never a crashed worker, and the delivery stays
  pending.

Delivery is at-least-once: a notification sent whose attempt could not be recorded is sent
again. Every message carries the delivery id so that receivers can drop repeats.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.utils import EnvType

from domain.notifications.deliveries import Delivery

SERVICE_ACTOR = "service:notifications"
VIA_CHANNEL = "NOTIFICATIONS"


class NotificationsApplication(Application[UUID]):
    """The deliveries of the notifications context."""

    name = "notifications"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)

    def delivery(self, aggregate_id: UUID) -> Delivery | None:
        try:
            found: Delivery = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found
