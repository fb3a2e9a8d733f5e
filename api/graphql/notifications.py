"""GraphQL for the delivery audit: the notification rules in force, the deliveries they
scheduled and every attempt to send them (``notifications:read``).

``Query`` in ``schema.py`` inherits :class:`NotificationsQuery`. Targets are shown masked
(a webhook's scheme and host, an address's domain); payloads have IBANs masked already.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.graphql.common import Connection, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import checked, in_thread
from api.security import Permission
from application.errors import InvalidCommand
from domain.notifications.rules import Rule
from projections.notifications.read_model import AttemptView, DeliveryView, NotificationQueries

Info = strawberry.Info[LedgerContext, None]


@strawberry.enum(description="PENDING (attempts go on), DELIVERED, or GAVE_UP")
class NotificationDeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    GAVE_UP = "GAVE_UP"


@strawberry.type(description="One attempt to send a notification")
class NotificationAttempt:
    attempt: int
    at: datetime
    outcome: str = strawberry.field(description="DELIVERED, FAILED (retried) or REJECTED")
    detail: str = strawberry.field(description="The answer or error, truncated")
    next_attempt_at: datetime | None

    @classmethod
    def of(cls, view: AttemptView) -> NotificationAttempt:
        return cls(
            attempt=view.attempt,
            at=view.at,
            outcome=view.outcome,
            detail=view.detail,
            next_attempt_at=view.next_attempt_at,
        )


def _payload(root: Any, info: Info) -> JSON:
    """A delivery's payload as this caller may see it (a fraud delivery's event data only
    with ``fraud:read``: null otherwise)."""
    return cast(JSON, visible_payload(root.source_context, root.raw_payload, info))


@strawberry.type(description="A notification one rule scheduled about one event")
class NotificationDelivery:
    id: strawberry.ID
    rule: str
    channel: str
    target: str = strawberry.field(description="Where it goes, masked")
    status: NotificationDeliveryStatus
    source_context: str
    source_position: int = strawberry.field(description="The event's place in its context's log")
    source_event_id: str
    source_event_type: str
    payload: JSON = strawberry.field(
        resolver=_payload,
        description="What is sent (IBANs masked)",
    )
    attempt_count: int = strawberry.field(description="Attempts made so far")
    last_outcome: str | None
    last_error: str | None
    gave_up_reason: str | None
    scheduled_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    loaded_attempts: strawberry.Private[list[AttemptView] | None] = None
    raw_payload: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, view: DeliveryView, *, with_attempts: bool = False) -> NotificationDelivery:
        return cls(
            id=strawberry.ID(view.id),
            rule=view.rule,
            channel=view.channel,
            target=view.target,
            status=NotificationDeliveryStatus(view.status),
            source_context=view.source_context,
            source_position=view.source_position,
            source_event_id=view.source_event_id,
            source_event_type=view.source_event_type,
            raw_payload=dict(view.payload),
            attempt_count=view.attempts,
            last_outcome=view.last_outcome,
            last_error=view.last_error,
            gave_up_reason=view.gave_up_reason,
            scheduled_at=view.scheduled_at,
            next_attempt_at=view.next_attempt_at,
            last_attempt_at=view.last_attempt_at,
            delivered_at=view.delivered_at,
            loaded_attempts=list(view.attempt_list) if with_attempts else None,
        )

    @strawberry.field(description="Every attempt so far, in order")
    async def attempts(self, info: Info) -> list[NotificationAttempt]:
        info.context.authorize(Permission.NOTIFICATIONS_READ)
        attempts = self.loaded_attempts
        if attempts is None:
            view = await in_thread(notification_queries(info).delivery, str(self.id))
            attempts = view.attempt_list if view is not None else []
        return [NotificationAttempt.of(a) for a in attempts]


@strawberry.type(description="A notification rule in force (the target masked)")
class NotificationRule:
    name: str
    description: str
    events: list[str] = strawberry.field(description='"context:Event": ledger:Transaction.Held')
    channel: str
    target: str | None = strawberry.field(description="Masked; null: the rule is inactive")
    active: bool
    min_amount: str | None
    currency: str | None
    where: JSON = strawberry.field(description="Field values a matching event must have")

    @classmethod
    def of(cls, rule: Rule) -> NotificationRule:
        condition = rule.condition
        return cls(
            name=rule.name,
            description=rule.description,
            events=[str(ref) for ref in rule.events],
            channel=rule.channel.value,
            target=rule.masked_target,
            active=rule.active,
            min_amount=format(condition.min_amount, "f")
            if condition.min_amount is not None
            else None,
            currency=condition.currency,
            where=cast(JSON, dict(condition.where)),
        )


RESTRICTED_CONTEXTS: dict[str, str] = {"fraud": Permission.FRAUD_READ}
"""Contexts whose event data in a payload is shown only with that context's read permission
(deliveries scheduled before payloads were allowlisted may carry a case's notes)."""


def visible_payload(context: str, payload: dict[str, Any], info: Info) -> dict[str, Any]:
    needed = RESTRICTED_CONTEXTS.get(context)
    if needed is None or info.context.principal.can(needed):
        return payload
    return {**payload, "data": None}


def notification_queries(info: Info) -> NotificationQueries:
    return info.context.container.notification_queries


def _delivery_uuid(raw: str) -> UUID:
    try:
        return UUID(raw.strip())
    except (ValueError, AttributeError):
        raise InvalidCommand(f"delivery id: {raw!r} is not a UUID") from None


@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="Notification deliveries, newest first (keyset pagination)")
    async def notification_deliveries(
        self,
        info: Info,
        status: NotificationDeliveryStatus | None = None,
        rule: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[NotificationDelivery]:
        info.context.authorize(Permission.NOTIFICATIONS_READ)
        queries = notification_queries(info)
        wanted = status.value if status is not None else None
        named = rule.strip() if rule and rule.strip() else None
        page = await in_thread(
            paginate, queries.deliveries, wanted, named, page_size(first), after=after
        )
        return connection(page, NotificationDelivery.of)

    @strawberry.field(description="One notification delivery by id, with its attempts")
    async def notification_delivery(
        self, info: Info, id: strawberry.ID
    ) -> NotificationDelivery | None:
        info.context.authorize(Permission.NOTIFICATIONS_READ)
        delivery_id = str(checked(_delivery_uuid, str(id)))
        view = await in_thread(notification_queries(info).delivery, delivery_id)
        return NotificationDelivery.of(view, with_attempts=True) if view is not None else None

    @strawberry.field(description="The notification rules in force (targets masked)")
    def notification_rules(self, info: Info) -> list[NotificationRule]:
        info.context.authorize(Permission.NOTIFICATIONS_READ)
        rules = info.context.container.settings.notifications.rules
        return [NotificationRule.of(rule) for rule in rules.rules]
