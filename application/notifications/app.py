"""The notifications context: rules over the other contexts' event logs, and delivery.

* :class:`NotificationsApplication` (``notifications``, its own event table) keeps the
  :class:`~domain.notifications.deliveries.Delivery` aggregates.
* :class:`RuleEvaluator` reads each context's log after its stored position (a
  :class:`PositionStore`), schedules a delivery for every active rule an event matches, then
  stores the new position. Reading is at-least-once (a crash before the position is stored
  reads the events again) and a delivery's id derives from the rule and the event's place in
  its log, so a second scheduling conflicts and is skipped: each delivery exists once.
* :class:`NotificationSender` takes the deliveries that are due (:class:`DueDeliveries`,
  bounded per step), sends each through its :class:`NotificationChannel` and records the
  attempt: delivered, retried after an exponential back-off, or given up. A channel that
  raises is a failed attempt, never a crashed worker, and the delivery stays pending.

Delivery is at-least-once: a notification sent whose attempt could not be recorded is sent
again. Every message carries the delivery id so that receivers can drop repeats.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType, get_topic

from application.ports import Clock, EventFeed
from application.quarantine import TRANSIENT, Guard, Quarantine, Unreadable
from domain.aggregate import ENVELOPE_FIELDS
from domain.causation import Causation, caused_by
from domain.ledger.transactions import Transaction
from domain.notifications.deliveries import (
    Delivery,
    DeliveryStatus,
    RetryPolicy,
    delivery_id,
    render_payload,
)
from domain.notifications.payloads import sendable
from domain.notifications.rules import (
    EVENT_CLASSES,
    Channel,
    Rule,
    RuleSet,
    mask_target,
    target_digest,
)

log = logging.getLogger(__name__)

SERVICE_ACTOR = "service:notifications"
VIA_CHANNEL = "NOTIFICATIONS"
_NOT_SENT = frozenset({"metadata"})


def utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- ports


class PositionStore(Protocol):
    """Where the evaluator keeps how far each rule (``key``, see :func:`position_key`) has
    read each context's log."""

    def get(self, key: str, context: str) -> int | None:
        """The last notification id evaluated in ``context`` (None: never read)."""
        ...

    def set(self, key: str, context: str, position: int) -> None:
        """Store ``position``, unless the stored one is further already (never backwards:
        a slower evaluator must not make the next one read the same events again)."""
        ...


def position_key(rule: Rule) -> str:
    """The name a rule's positions are stored under (at most 64 characters)."""
    key = f"rule:{rule.name}"
    if len(key) <= 64:
        return key
    return "rule#" + hashlib.sha256(rule.name.encode()).hexdigest()[:32]


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


# --------------------------------------------------------------------------- application


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


# --------------------------------------------------------------------------- evaluation


def rule_topics(rules: RuleSet) -> dict[str, tuple[str, ...]]:
    """The topics of the events the active rules fire on, by context (contexts no active
    rule listens to are left out: their logs are not read at all)."""
    return {
        context: tuple(sorted(get_topic(EVENT_CLASSES[context][name]) for name in names))
        for context, names in rules.events().items()
    }


def event_name(event: object) -> str:
    """``"Transaction.Held"`` for an event of class ``Transaction.Held``."""
    return type(event).__qualname__


def event_data(event: object) -> dict[str, Any]:
    """The event's own fields, without originator, timestamp and causation, and without a
    payment's free-form ``metadata``: what a rule's condition may ask about (not all of it
    is sent)."""
    return {k: v for k, v in vars(event).items() if k not in ENVELOPE_FIELDS and k not in _NOT_SENT}


def event_fields(event: object) -> dict[str, Any]:
    """The event's fields that may be sent out (the allowlist of its type: no names, no free
    text; see :mod:`domain.notifications.payloads`)."""
    return sendable(event_name(event), event_data(event))


def ledger_facts(get_transaction: Callable[[UUID], Transaction]) -> Facts:
    """Facts of a ledger event: for a transaction's events, the payment's amount, currency,
    channel and parties (``Held`` itself carries only the held amount). Only facts fixed
    when the payment was received: the payload must not depend on when it is evaluated."""

    def facts(event: object) -> Mapping[str, Any]:
        if not isinstance(event, Transaction.Event):
            return {}
        return _transaction_facts(get_transaction, event.originator_id)

    return facts


def fraud_facts(get_transaction: Callable[[UUID], Transaction]) -> Facts:
    """Facts of a fraud case's event: its payment's amount, currency and parties."""

    def facts(event: object) -> Mapping[str, Any]:
        transaction = getattr(event, "transaction_id", None)
        if transaction is None:
            return {}
        try:
            return _transaction_facts(get_transaction, UUID(str(transaction)))
        except ValueError:
            return {}

    return facts


def _transaction_facts(get: Callable[[UUID], Transaction], tx_id: UUID) -> dict[str, Any]:
    try:
        tx = get(tx_id)
    except Exception:  # unknown payment: the event's own fields are all there is
        return {}
    return {
        "transaction_id": str(tx.id),
        "amount": tx.amount,
        "currency": tx.currency,
        "channel": tx.channel,
        "external_id": tx.external_id,
        "debtor_iban": tx.debtor_iban,
        "creditor_iban": tx.creditor_iban,
    }


class RuleEvaluator:
    """Schedules a delivery for every active rule each new event of each context matches.

    No event stops it (issue #12): an event it cannot read or evaluate is quarantined as
    ``notification-rules`` and skipped, and a context whose log cannot be read at all (the
    database) does not stop the evaluation of the others.
    """

    FOLLOWER = "notification-rules"

    def __init__(
        self,
        app: NotificationsApplication,
        rules: RuleSet,
        feeds: Sequence[ContextFeed],
        positions: PositionStore,
        *,
        clock: Clock = utc_now,
        batch_size: int = 200,
        start_at_head: bool = False,
        quarantine: Quarantine | None = None,
    ) -> None:
        self.quarantine = quarantine
        self.app = app
        self.rules = rules
        self.feeds = list(feeds)
        self.positions = positions
        self.clock = clock
        self.batch_size = batch_size
        self.start_at_head = start_at_head
        """Where a context never read before starts: its head (only what happens from now
        on notifies) or the beginning of its log."""
        self.scheduled = 0

    def step(self) -> int:
        """One batch of each context's log; returns how many events were read."""
        read = 0
        failed: Exception | None = None
        for feed in self.feeds:
            try:
                read += self._step(feed)
            except Exception as error:  # transient: this context again next step
                log.warning("notification rules: reading %s failed", feed.context, exc_info=True)
                failed = failed or error
        if failed is not None:
            raise failed  # after the other contexts: the worker shows it (lastError)
        return read

    def _step(self, feed: ContextFeed) -> int:
        """Each rule keeps its own position in each log (a rule added by a rolling update
        must not find the events it fires on already read by a pod without it): the batch
        starts after the furthest-behind rule, and each event goes to the rules that have
        not read it yet."""
        rules = [r for r in self.rules.active if any(e.context == feed.context for e in r.events)]
        if not rules:
            return 0
        head = feed.head()
        positions: dict[str, int] = {}
        for rule in rules:
            stored = self.positions.get(position_key(rule), feed.context)
            if stored is None:
                # A rule never run before: from the head (only what happens from now on
                # notifies) or from the beginning of the log.
                stored = head if self.start_at_head else 0
                if self.start_at_head:
                    self.positions.set(position_key(rule), feed.context, stored)
            positions[rule.name] = stored
        after = min(positions.values())
        if after >= head:
            return 0
        items = list(feed.feed(after, self.batch_size))
        guard = Guard(self.FOLLOWER, feed.context, self.quarantine, transient=TRANSIENT)
        for position, event in items:
            behind = [r for r in rules if positions[r.name] < position]
            guard.handle(position, event, partial(self._evaluate_at, feed, position, behind))
        last = items[-1][0] if items else after
        if len(items) < self.batch_size:
            # Nothing more a rule fires on up to the head read before the batch (every
            # notification id up to it was committed): skip the rest.
            last = max(last, head)
        for rule in rules:
            if last > positions[rule.name]:
                self.positions.set(position_key(rule), feed.context, last)
        return len(items)

    def _evaluate_at(
        self, feed: ContextFeed, position: int, rules: Sequence[Rule], event: object
    ) -> list[UUID]:
        return self.evaluate(feed, position, event, rules)

    def retry(self, context: str, position: int) -> list[UUID]:
        """Evaluate the event at ``position`` of ``context`` again (a quarantined one, after
        a fix) for every active rule; raises if it still cannot be read or evaluated.
        Deliveries scheduled before are not scheduled twice."""
        feed = next((f for f in self.feeds if f.context == context), None)
        if feed is None:
            raise LookupError(f"no rule of this process reads {context!r}")
        items = [(p, e) for p, e in feed.feed(position - 1, 1) if p == position]
        if not items:
            raise LookupError(f"{context}#{position} is not an event the rules listen to")
        event = items[0][1]
        if isinstance(event, Unreadable):
            raise event.error
        return self.evaluate(feed, position, event)

    def evaluate(
        self,
        feed: ContextFeed,
        position: int,
        event: object,
        rules: Sequence[Rule] | None = None,
    ) -> list[UUID]:
        """Schedule the deliveries of ``event`` (at ``position`` of its log) for ``rules``
        (default: every active rule); returns the ids of the deliveries scheduled now (not
        those scheduled before)."""
        name = event_name(event)
        considered = self.rules.active if rules is None else rules
        candidates = [r for r in considered if r.fires_on(feed.context, name)]
        if not candidates:
            return []
        data = event_data(event)
        if feed.facts is not None:
            data = {**data, **feed.facts(event)}
        scheduled: list[UUID] = []
        for rule in candidates:
            if rule.condition.holds(data) and self._schedule(rule, feed, position, event, data):
                scheduled.append(delivery_id(rule.name, feed.context, position))
        return scheduled

    def _schedule(
        self, rule: Rule, feed: ContextFeed, position: int, event: Any, data: dict[str, Any]
    ) -> bool:
        assert rule.target is not None  # active rules only
        the_id = delivery_id(rule.name, feed.context, position)
        if self.app.delivery(the_id) is not None:
            return False
        event_id = f"{feed.context}:{event.originator_id}:v{event.originator_version}"
        payload = render_payload(
            delivery=the_id,
            rule=rule.name,
            context=feed.context,
            event_type=event_name(event),
            event_id=event_id,
            subject=str(event.originator_id),
            occurred_at=event.timestamp,
            data=sendable(event_name(event), data),
        )
        causation = Causation(
            actor=SERVICE_ACTOR,
            correlation_id=str(getattr(event, "correlation_id", "") or the_id),
            channel=VIA_CHANNEL,
        )
        with caused_by(causation):
            delivery = Delivery(
                rule=rule.name,
                channel=rule.channel.value,
                target=mask_target(rule.channel, rule.target),
                target_digest=target_digest(rule.target),
                payload=payload,
                source_context=feed.context,
                source_position=position,
                source_event_id=event_id,
                source_event_type=event_name(event),
                scheduled_at=self.clock(),
            )
        try:
            self.app.save(delivery)
        except IntegrityError:
            return False  # scheduled meanwhile (another evaluator, a re-read): once only
        self.scheduled += 1
        return True


# --------------------------------------------------------------------------- sending


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
