"""A delivery: one notification of one rule about one event, and every attempt to send it.

::

    PENDING --Attempted(FAILED)--> PENDING (next attempt later, exponential back-off)
    PENDING --Attempted(DELIVERED)--> Delivered -> DELIVERED
    PENDING --Attempted(REJECTED)--> GaveUp -> GAVE_UP   (a permanent refusal)
    PENDING --Attempted(FAILED), the last one allowed--> GaveUp -> GAVE_UP

The id derives from the rule and the source event's place in its log
(:func:`delivery_id`), so an event seen twice can never be scheduled twice: the second
creation conflicts. Events record the target masked and its fingerprint only (a webhook URL
may hold a token); the payload is plain data with IBANs masked. Times are arguments (the
application's clock), never read in an event body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import DomainError
from domain.notifications.masking import plain_data, truncate

NOTIFICATIONS_NAMESPACE = UUID("6f1c2d9e-4a7b-4e3f-8d21-9b0a5c7e3f14")
MAX_DETAIL = 500


def delivery_id(rule: str, context: str, notification_id: int) -> UUID:
    """The delivery of ``rule`` about event ``notification_id`` of ``context``'s log."""
    return uuid5(NOTIFICATIONS_NAMESPACE, f"{rule}:{context}:{notification_id}")


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    GAVE_UP = "GAVE_UP"


class AttemptOutcome(StrEnum):
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    """Worth trying again (timeout, 5xx, broker or mail server away)."""
    REJECTED = "REJECTED"
    """Refused for good (a 4xx other than 408/429, an unknown mailbox): no more attempts."""


class DeliveryStateError(DomainError):
    """An attempt on a delivery that is no longer pending."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt ``n`` (1-based) that failed waits ``base * 2**(n-1)``, at most ``max_delay``;
    after ``max_attempts`` failed attempts the delivery gives up."""

    base: timedelta = timedelta(seconds=30)
    max_attempts: int = 8
    max_delay: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= timedelta(0) or self.max_delay < self.base:
            raise ValueError("the retry base must be positive and not above max_delay")

    def delay(self, attempt: int) -> timedelta:
        """How long after failed attempt ``attempt`` the next one is due."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        wait = self.base
        for _ in range(attempt - 1):  # doubling stops at the cap: no overflow however late
            if wait >= self.max_delay:
                break
            wait *= 2
        return wait if wait < self.max_delay else self.max_delay

    def schedule(self) -> list[timedelta]:
        """The waits between the attempts, in order (``max_attempts - 1`` of them)."""
        return [self.delay(n) for n in range(1, self.max_attempts)]


def render_payload(
    *,
    delivery: UUID,
    rule: str,
    context: str,
    event_type: str,
    event_id: str,
    subject: str,
    occurred_at: datetime,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The notification body: what happened, where, and the event's data, IBANs masked."""
    return {
        "deliveryId": str(delivery),
        "rule": rule,
        "context": context,
        "event": event_type,
        "eventId": event_id,
        "subject": subject,
        "occurredAt": plain_data(occurred_at),
        "data": plain_data(data),
    }


class Delivery(AttributedAggregate):
    """One rule's notification about one event, with its attempts."""

    @staticmethod
    def create_id(rule: str, source_context: str, source_position: int) -> UUID:
        return delivery_id(rule, source_context, source_position)

    @event("Scheduled")
    def __init__(
        self,
        rule: str,
        channel: str,
        target: str,
        target_digest: str,
        payload: dict[str, Any],
        source_context: str,
        source_position: int,
        source_event_id: str,
        source_event_type: str,
        scheduled_at: datetime,
    ) -> None:
        self.rule = rule
        self.channel = channel
        self.target = target  # masked
        self.target_digest = target_digest
        self.payload = payload
        self.source_context = source_context
        self.source_position = source_position
        self.source_event_id = source_event_id
        self.source_event_type = source_event_type
        self.scheduled_at = scheduled_at
        self.status = DeliveryStatus.PENDING
        self.attempts = 0
        self.next_attempt_at: datetime | None = scheduled_at
        self.last_error: str | None = None

    def is_due(self, now: datetime) -> bool:
        return (
            self.status is DeliveryStatus.PENDING
            and self.next_attempt_at is not None
            and self.next_attempt_at <= now
        )

    def check_pending(self) -> None:
        if self.status is not DeliveryStatus.PENDING:
            raise DeliveryStateError(f"delivery {self.id} is {self.status.value}")

    def succeeded(self, at: datetime, detail: str) -> None:
        """The channel took the notification."""
        self.check_pending()
        self._attempted(
            attempt=self.attempts + 1,
            outcome=AttemptOutcome.DELIVERED.value,
            detail=truncate(detail, MAX_DETAIL),
            at=at,
            next_attempt_at=None,
        )
        self._delivered(at=at)

    def failed(self, at: datetime, detail: str, *, permanent: bool, policy: RetryPolicy) -> None:
        """The attempt failed: try again after the back-off, or give up (a permanent refusal,
        or the last attempt the policy allows)."""
        self.check_pending()
        attempt = self.attempts + 1
        text = truncate(detail, MAX_DETAIL)
        last = permanent or attempt >= policy.max_attempts
        self._attempted(
            attempt=attempt,
            outcome=(AttemptOutcome.REJECTED if permanent else AttemptOutcome.FAILED).value,
            detail=text,
            at=at,
            next_attempt_at=None if last else at + policy.delay(attempt),
        )
        if last:
            reason = "refused permanently" if permanent else f"{attempt} attempts failed"
            self._gave_up(at=at, reason=f"{reason}: {text}")

    @event("Attempted")
    def _attempted(
        self,
        attempt: int,
        outcome: str,
        detail: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> None:
        self.attempts = attempt
        self.next_attempt_at = next_attempt_at
        self.last_error = None if outcome == AttemptOutcome.DELIVERED.value else detail

    @event("Delivered")
    def _delivered(self, at: datetime) -> None:
        self.status = DeliveryStatus.DELIVERED
        self.next_attempt_at = None

    @event("GaveUp")
    def _gave_up(self, at: datetime, reason: str) -> None:
        self.status = DeliveryStatus.GAVE_UP
        self.next_attempt_at = None
