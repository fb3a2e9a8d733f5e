"""Notification rules: which events of which context notify whom, through which channel.

A rule names the events it fires on (a context and an event class, ``ledger``
``Transaction.Held``), an optional condition (a minimum amount and/or a currency, for events
that carry an amount; field values that must be equal, such as a fraud case's verdict) and
a channel with its target:

* ``webhook``: an ``https://`` URL (``http://`` only to 127.0.0.1 or localhost, and only in
  development); no credentials in the URL: receivers check the body's signature instead;
* ``email``: one address;
* ``stomp``: a broker destination, ``/topic/...`` or ``/queue/...``.

A rule without a target is *inactive*: it is listed, never delivered. The built-in rules
(:data:`DEFAULT_RULES`) are all inactive: nothing leaves the bank unless a rules file names
where it goes. Everything here is plain Python: the rules file is parsed at the edge and
handed over as :class:`Rule` objects, checked by :func:`check_rule`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from domain.errors import DomainError
from domain.fraud.cases import FraudCase
from domain.fraud.registry import ModelRegistry
from domain.identity.requests import ChangeRequest
from domain.identity.users import BackofficeUser
from domain.ledger.accounts import Account
from domain.ledger.transactions import Transaction


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    STOMP = "stomp"


class RuleError(DomainError, ValueError):
    """A rule that cannot be used; names the rule and the field."""

    def __init__(self, rule: str, field_name: str, message: str) -> None:
        super().__init__(f"rule {rule!r}: {field_name}: {message}")
        self.rule = rule
        self.field = field_name
        self.detail = message


def _events_of(*aggregates: type) -> dict[str, type]:
    """``{"Transaction.Held": Transaction.Held, ...}`` for every event class of each aggregate."""
    found: dict[str, type] = {}
    for aggregate in aggregates:
        base = aggregate.Event  # type: ignore[attr-defined]
        for name, value in vars(aggregate).items():
            if isinstance(value, type) and issubclass(value, base) and name not in _BASES:
                found[f"{aggregate.__name__}.{name}"] = value
    return found


_BASES = frozenset({"Event", "Created"})

EVENT_CLASSES: Mapping[str, Mapping[str, type]] = {
    "ledger": _events_of(Transaction, Account),
    "fraud": _events_of(FraudCase, ModelRegistry),
    "identity": _events_of(ChangeRequest, BackofficeUser),
}
"""Every event a rule may name, by context and name (``Transaction.Held``)."""

_WITH_AMOUNT = frozenset({*_events_of(Transaction), *_events_of(FraudCase)})

EVENT_CATALOGUE: Mapping[str, Mapping[str, bool]] = {
    context: {name: name in _WITH_AMOUNT for name in events}
    for context, events in EVENT_CLASSES.items()
}
"""Every event a rule may name, by context; True where the event carries an amount and a
currency (a payment's events, and a fraud case's, enriched with its payment's), so that a
rule on it may have an amount or currency condition."""


@dataclass(frozen=True, slots=True)
class EventRef:
    """One event class of one context's log: ``EventRef("ledger", "Transaction.Held")``."""

    context: str
    event: str

    def __str__(self) -> str:
        return f"{self.context}:{self.event}"


@dataclass(frozen=True, slots=True)
class Condition:
    """What a matching event must also satisfy; every part that is set must hold."""

    min_amount: Decimal | None = None
    """The event's amount (in its own currency) is at least this."""
    currency: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    """``(field, value)`` pairs: the event's field, as text, equals the value."""

    def holds(self, facts: Mapping[str, Any]) -> bool:
        if self.currency is not None and str(facts.get("currency", "")) != self.currency:
            return False
        if self.min_amount is not None:
            raw = facts.get("amount")
            if raw is None:
                return False
            try:
                if Decimal(str(raw)) < self.min_amount:
                    return False
            except ArithmeticError:
                return False
        return all(str(facts.get(name)) == value for name, value in self.where)

    @property
    def needs_amount(self) -> bool:
        return self.min_amount is not None or self.currency is not None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    events: tuple[EventRef, ...]
    channel: Channel
    target: str | None = None
    """Where to deliver; None: the rule is inactive (listed, never delivered)."""
    condition: Condition = field(default_factory=Condition)
    description: str = ""

    @property
    def active(self) -> bool:
        return self.target is not None

    def fires_on(self, context: str, event: str) -> bool:
        return any(ref.context == context and ref.event == event for ref in self.events)

    def matches(self, context: str, event: str, facts: Mapping[str, Any]) -> bool:
        """Whether an event of ``context`` named ``event`` with these facts notifies."""
        return self.fires_on(context, event) and self.condition.holds(facts)

    @property
    def masked_target(self) -> str | None:
        return None if self.target is None else mask_target(self.channel, self.target)

    @property
    def target_digest(self) -> str | None:
        return None if self.target is None else target_digest(self.target)


def target_digest(target: str) -> str:
    """A fingerprint of a target: events record it (and the masked form), never the target,
    since a webhook URL may hold a token."""
    return hashlib.sha256(target.encode()).hexdigest()


def mask_target(channel: Channel, target: str) -> str:
    """The target as it may be shown and recorded: a webhook's scheme, host and port only;
    an e-mail address with the local part hidden; a STOMP destination as it is."""
    if channel is Channel.WEBHOOK:
        parts = urlsplit(target)
        port = f":{parts.port}" if parts.port else ""
        rest = "/…" if parts.path.strip("/") or parts.query else ""
        return f"{parts.scheme}://{parts.hostname}{port}{rest}"
    if channel is Channel.EMAIL:
        local, _, domain = target.partition("@")
        return f"{local[:1]}***@{domain}"
    return target


_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_DESTINATION = re.compile(r"^/(topic|queue)/[A-Za-z0-9._\-/]+$")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_rule(rule: Rule, *, allow_local_http: bool = False) -> Rule:
    """``rule`` if it can be used, else :class:`RuleError` naming the rule and the field.

    ``allow_local_http``: a webhook may be ``http://`` to 127.0.0.1 or localhost
    (development only)."""
    name = rule.name
    if not _RULE_NAME.match(name):
        raise RuleError(
            name, "name", "2 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        )
    if not rule.events:
        raise RuleError(name, "events", "a rule needs at least one event")
    for ref in rule.events:
        known = EVENT_CATALOGUE.get(ref.context)
        if known is None:
            raise RuleError(
                name, "events", f"unknown context {ref.context!r}; known: {sorted(EVENT_CATALOGUE)}"
            )
        if ref.event not in known:
            raise RuleError(
                name,
                "events",
                f"{ref.context} has no event {ref.event!r}; known: {', '.join(sorted(known))}",
            )
        if rule.condition.needs_amount and not known[ref.event]:
            raise RuleError(
                name,
                "condition",
                f"{ref} carries no amount: minAmount and currency apply only to "
                "transaction and fraud case events",
            )
    condition = rule.condition
    if condition.min_amount is not None and (
        not condition.min_amount.is_finite() or condition.min_amount < 0
    ):
        raise RuleError(name, "condition.minAmount", "must be a non-negative decimal amount")
    if condition.currency is not None and not re.fullmatch(r"[A-Z]{3}", condition.currency):
        raise RuleError(name, "condition.currency", "must be an ISO 4217 code such as EUR")
    if rule.target is not None:
        check_target(name, rule.channel, rule.target, allow_local_http=allow_local_http)
    return rule


def check_target(rule: str, channel: Channel, target: str, *, allow_local_http: bool) -> None:
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        raise RuleError(rule, "target", "must not contain control characters")
    if channel is Channel.WEBHOOK:
        parts = urlsplit(target)
        host = parts.hostname or ""
        if parts.scheme == "http":
            if host not in LOCAL_HOSTS:
                raise RuleError(rule, "target", "a webhook must be https:// (http:// only locally)")
            if not allow_local_http:
                raise RuleError(rule, "target", "http:// webhooks are allowed in development only")
        elif parts.scheme != "https":
            raise RuleError(rule, "target", f"a webhook must be an https:// URL, got {target!r}")
        if not host:
            raise RuleError(rule, "target", "the webhook URL has no host")
        if parts.username is not None or parts.password is not None:
            raise RuleError(
                rule, "target", "no credentials in the URL: receivers verify X-Ledger-Signature"
            )
        try:
            _ = parts.port
        except ValueError:
            raise RuleError(rule, "target", "the webhook URL's port is not a number") from None
    elif channel is Channel.EMAIL:
        if not _EMAIL.match(target):
            raise RuleError(rule, "target", "must be one e-mail address such as ops@example.com")
    elif not _DESTINATION.match(target):
        raise RuleError(rule, "target", "must be a broker destination such as /topic/ledger.alerts")


@dataclass(frozen=True)
class RuleSet:
    """The rules in force, by name (names are unique)."""

    rules: tuple[Rule, ...] = ()
    source: str = "built-in"
    """Where the rules came from: ``built-in`` or the rules file's path."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise RuleError(rule.name, "name", "two rules have this name")
            seen.add(rule.name)

    def get(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    @property
    def active(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.active)

    def channels(self) -> frozenset[Channel]:
        """The channels some active rule delivers through."""
        return frozenset(rule.channel for rule in self.active)

    def events(self) -> dict[str, set[str]]:
        """The event names the active rules fire on, by context."""
        found: dict[str, set[str]] = {}
        for rule in self.active:
            for ref in rule.events:
                found.setdefault(ref.context, set()).add(ref.event)
        return found

    def matching(self, context: str, event: str, facts: Mapping[str, Any]) -> list[Rule]:
        return [rule for rule in self.active if rule.matches(context, event, facts)]


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        name="payment-held-for-review",
        events=(EventRef("ledger", "Transaction.Held"),),
        channel=Channel.WEBHOOK,
        description="A payment was held for a fraud analyst's review",
    ),
    Rule(
        name="fraud-confirmed",
        events=(EventRef("fraud", "FraudCase.Decided"),),
        channel=Channel.WEBHOOK,
        condition=Condition(where=(("verdict", "CONFIRMED_FRAUD"),)),
        description="An analyst confirmed a fraud",
    ),
    Rule(
        name="change-request-waiting",
        events=(EventRef("identity", "ChangeRequest.Requested"),),
        channel=Channel.WEBHOOK,
        description="A maker-checker request waits for its checker",
    ),
)
"""The built-in rules: listed so that operators see what can be notified, but inactive
(no target). A rules file replaces them (and gives targets)."""


def default_rules() -> RuleSet:
    return RuleSet(tuple(check_rule(rule) for rule in DEFAULT_RULES))


def rule_set(rules: Iterable[Rule], source: str, *, allow_local_http: bool) -> RuleSet:
    """Check every rule and wrap them; the first problem raises :class:`RuleError`."""
    return RuleSet(tuple(check_rule(r, allow_local_http=allow_local_http) for r in rules), source)
