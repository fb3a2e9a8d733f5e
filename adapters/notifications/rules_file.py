"""The rules file (``LEDGER_NOTIFICATION_RULES``): JSON, validated with pydantic, turned into
the domain's :class:`~domain.notifications.rules.Rule` objects.

::

    {"rules": [
      {"name": "large-payment-held",
       "events": ["ledger:Transaction.Held"],
       "condition": {"minAmount": "10000", "currency": "EUR"},
       "channel": "webhook",
       "target": "https://hooks.example.com/ledger"},
      {"name": "fraud-confirmed",
       "events": ["fraud:FraudCase.Decided"],
       "condition": {"where": {"verdict": "CONFIRMED_FRAUD"}},
       "channel": "email", "target": "fraud-team@example.com"}
    ]}

Every problem is reported at once, naming the rule (and its index) and the field, so that a
bad file stops the process at start with a message that says what to fix.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.notifications.rules import (
    Channel,
    Condition,
    EventRef,
    Rule,
    RuleError,
    RuleSet,
    check_rule,
)


class RulesFileError(ValueError):
    """The rules file cannot be used; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid notification rules:\n  " + "\n  ".join(problems))


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minAmount: Decimal | None = None
    currency: str | None = None
    where: dict[str, str] = Field(default_factory=dict)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    events: list[str] = Field(min_length=1)
    channel: Literal["webhook", "email", "stomp"]
    target: str | None = None
    condition: _Condition | None = None
    description: str = ""


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[_Rule]


def _label(data: Any, index: int) -> str:
    name = None
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        items = data["rules"]
        if index < len(items) and isinstance(items[index], dict):
            name = items[index].get("name")
    return f"rule {name!r} (rules[{index}])" if name else f"rules[{index}]"


def parse_rules(
    text: str, source: str = "rules file", *, allow_local_http: bool = False
) -> RuleSet:
    """The rule set in ``text``; :class:`RulesFileError` listing every problem otherwise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RulesFileError(
            [f"{source}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"]
        ) from None
    try:
        parsed = _File.model_validate(data)
    except ValidationError as error:
        found: list[str] = []
        for item in error.errors():
            loc = list(item["loc"])
            if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                where = _label(data, loc[1])
                field = ".".join(str(part) for part in loc[2:]) or "(the rule)"
            else:
                where = "file"
                field = ".".join(str(part) for part in loc) or "(top level)"
            found.append(f"{source}: {where}: {field}: {item['msg']}")
        raise RulesFileError(found) from None
    problems: list[str] = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, given in enumerate(parsed.rules):
        where = _label(data, index)
        name = given.name.strip()
        if name in seen:
            problems.append(f"{source}: {where}: name: another rule has this name")
            continue
        seen.add(name)
        try:
            rules.append(check_rule(_to_domain(given), allow_local_http=allow_local_http))
        except RuleError as error:
            problems.append(f"{source}: {where}: {error.field}: {error.detail}")
    if problems:
        raise RulesFileError(problems)
    return RuleSet(tuple(rules), source)


def _to_domain(given: _Rule) -> Rule:
    events = []
    for raw in given.events:
        context, sep, event = raw.partition(":")
        if not sep or not context.strip() or not event.strip():
            raise RuleError(
                given.name,
                "events",
                f"{raw!r} must look like context:Event, e.g. ledger:Transaction.Held",
            )
        events.append(EventRef(context.strip(), event.strip()))
    condition = Condition()
    if given.condition is not None:
        condition = Condition(
            min_amount=given.condition.minAmount,
            currency=given.condition.currency.strip().upper() if given.condition.currency else None,
            where=tuple(sorted(given.condition.where.items())),
        )
    target = given.target.strip() if given.target and given.target.strip() else None
    return Rule(
        name=given.name.strip(),
        events=tuple(events),
        channel=Channel(given.channel),
        target=target,
        condition=condition,
        description=given.description,
    )


def load_rules(path: Path, *, allow_local_http: bool = False) -> RuleSet:
    """The rule set of the file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesFileError([f"{path}: cannot be read: {error.strerror or error}"]) from None
    return parse_rules(text, str(path), allow_local_http=allow_local_http)
