"""Sending the due deliveries through their channels and recording every attempt."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.notifications.app import (
    SERVICE_ACTOR,
    VIA_CHANNEL,
    NotificationsApplication,
)
from application.notifications.ports import (
    ChannelResult,
    DueDeliveries,
    NotificationChannel,
    OutgoingNotification,
)
from application.unit_of_work import Clock, utc_now
from domain.causation import Causation, caused_by
from domain.notifications.deliveries import Delivery, DeliveryStatus, RetryPolicy
from domain.notifications.rules import Channel, RuleSet

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    delivered: int = 0
    failed: int = 0
    gave_up: int = 0
    skipped: int = 0
    not_mine: int = 0
    """Due deliveries of a rule (or target) this process's rule set does not have."""
    errors: list[str] = field(default_factory=list)


class NotificationSender:
    """Sends the deliveries that are due and records each attempt."""

    def __init__(
        self,
        app: NotificationsApplication,
        rules: RuleSet,
        due: DueDeliveries,
        channels: Mapping[Channel, NotificationChannel],
        *,
        policy: RetryPolicy | None = None,
        clock: Clock = utc_now,
        batch_size: int = 20,
    ) -> None:
        self.app = app
        self.rules = rules
        self.due = due
        self.channels = dict(channels)
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.batch_size = batch_size
        self.report = SendReport()

    def step(self, still_leading: Callable[[], bool] | None = None) -> int:
        """Send at most ``batch_size`` due deliveries; returns how many were attempted.

        ``still_leading`` (the role's leader election) is asked before each send: once it
        answers False, this step sends nothing more."""
        now = self.clock()
        attempted = 0
        for the_id in self.due.due(now, self.batch_size):
            if still_leading is not None and not still_leading():
                break
            if self.send(the_id):
                attempted += 1
        return attempted

    def send(self, the_id: UUID) -> bool:
        """One attempt of delivery ``the_id`` if it is due; False when it was not."""
        delivery = self.app.delivery(the_id)
        if delivery is None or not delivery.is_due(self.clock()):
            self.report.skipped += 1
            return False
        if not self.knows(delivery):
            # Scheduled under a rule set this process does not have (a rolling update: a
            # newer or older pod's rule, or the rule's target changed): not this process's
            # to send nor to give up. Nothing is recorded; a process that knows it sends it.
            log.info("delivery %s of rule %r is not for this rule set", the_id, delivery.rule)
            self.report.skipped += 1
            self.report.not_mine += 1
            return False
        result = self._attempt(delivery)
        at = self.clock()
        with caused_by(Causation(actor=SERVICE_ACTOR, channel=VIA_CHANNEL)):
            if result.delivered:
                delivery.succeeded(at, result.detail or "delivered")
            else:
                delivery.failed(at, result.detail, permanent=result.permanent, policy=self.policy)
        try:
            self.app.save(delivery)
        except IntegrityError:
            # Another sender recorded an attempt meanwhile; the receiver may see this one
            # twice (it carries the delivery id).
            log.warning("delivery %s was attempted concurrently", the_id)
            return False
        if result.delivered:
            self.report.delivered += 1
        elif delivery.status is DeliveryStatus.GAVE_UP:
            self.report.gave_up += 1
        else:
            self.report.failed += 1
        return True

    def knows(self, delivery: Delivery) -> bool:
        """Whether this rule set has the delivery's rule: by name, and (when active) with the
        same channel and target. A rule listed without a target (inactive) is known: that is
        how an operator gives up the pending deliveries of a rule removed for good."""
        rule = self.rules.get(delivery.rule)
        if rule is None:
            return False
        if rule.target is None:
            return True
        return (
            rule.target_digest == delivery.target_digest and rule.channel.value == delivery.channel
        )

    def _attempt(self, delivery: Delivery) -> ChannelResult:
        rule = self.rules.get(delivery.rule)
        if rule is None or rule.target is None:
            return ChannelResult(
                False,
                f"rule {delivery.rule!r} is listed without a target (inactive)",
                permanent=True,
            )
        channel = self.channels.get(rule.channel)
        if channel is None:
            return ChannelResult(False, f"no {rule.channel.value} channel in this process")
        notification = OutgoingNotification(
            delivery_id=str(delivery.id),
            rule=delivery.rule,
            event_type=delivery.source_event_type,
            payload=delivery.payload,
        )
        try:
            return channel.send(rule.target, notification)
        except Exception as error:  # a channel's failure is a failed attempt, never a crash
            log.warning("notification channel %s failed", rule.channel.value, exc_info=True)
            return ChannelResult(False, f"{type(error).__name__}: {error}")
