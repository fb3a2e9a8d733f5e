"""Notification rules over the other contexts' event logs: which events fire which rule,
and the :class:`RuleEvaluator` that schedules a delivery for each (once per rule and event).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.notifications.app import (
    SERVICE_ACTOR,
    VIA_CHANNEL,
    NotificationsApplication,
)
from application.notifications.ports import ContextFeed, Facts, PositionStore
from application.quarantine import TRANSIENT, Guard, Quarantine, Unreadable
from application.unit_of_work import Clock, utc_now
from domain.aggregate import ENVELOPE_FIELDS
from domain.causation import Causation, caused_by
from domain.ledger.transactions import Transaction
from domain.notifications.deliveries import Delivery, delivery_id, render_payload
from domain.notifications.payloads import sendable
from domain.notifications.rules import (
    EVENT_CLASSES,
    Rule,
    RuleSet,
    mask_target,
    target_digest,
)

log = logging.getLogger(__name__)

_NOT_SENT = frozenset({"metadata"})


def position_key(rule: Rule) -> str:
    """The name a rule's positions are stored under (at most 64 characters)."""
    key = f"rule:{rule.name}"
    if len(key) <= 64:
        return key
    return "rule#" + hashlib.sha256(rule.name.encode()).hexdigest()[:32]


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
