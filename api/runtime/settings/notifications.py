"""``LEDGER_NOTIFICATION_RULES``, ``LEDGER_NOTIFY_*``, ``LEDGER_SMTP_URL``: what notifies whom,
and how deliveries are retried.

A rule whose channel is not configured (no webhook secret, no mail server, no broker) is a
problem, named after the rule and the variable that is missing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, InstanceOf, ValidationInfo, field_validator

from adapters.notifications.email import SmtpConfig, parse_smtp_url
from adapters.notifications.rules_file import RulesFileError, load_rules
from api.runtime.settings import parsing
from api.runtime.settings.base import Problems, Section, env, reading
from domain.notifications.deliveries import RetryPolicy
from domain.notifications.rules import Channel, RuleSet, default_rules

DEFAULT_NOTIFY_RETRY_BASE_SECONDS = 30.0
DEFAULT_NOTIFY_RETRY_MAX_SECONDS = 3600.0
DEFAULT_NOTIFY_MAX_ATTEMPTS = 8
DEFAULT_NOTIFY_TIMEOUT_SECONDS = 10.0
MIN_WEBHOOK_SECRET = 16


def _rules(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return load_rules(Path(value), allow_local_http=reading().development)
    except RulesFileError as error:
        raise Problems(error.problems) from None


def _smtp(value: object) -> object:
    if not isinstance(value, str):
        return value
    problems: list[str] = []
    smtp = parse_smtp_url(value, problems)
    if problems:
        raise Problems(problems)
    return smtp


def _secret(value: object) -> object:
    if isinstance(value, str) and len(value) < MIN_WEBHOOK_SECRET:
        raise ValueError(f"must be at least {MIN_WEBHOOK_SECRET} characters")
    return value


def _sender(value: object) -> object:
    if isinstance(value, str) and ("@" not in value or any(c in value for c in "\r\n")):
        raise ValueError(f"must be an e-mail address, got {value!r}")
    return value


class NotificationSettings(Section):
    """The rules, the channels' credentials and the retry policy of deliveries."""

    rules: Annotated[InstanceOf[RuleSet], BeforeValidator(_rules)] = env(
        "LEDGER_NOTIFICATION_RULES",
        default_rules,
        "path of the notification rules file (JSON, see [Notifications](notifications.md)); "
        "unset = the built-in rules, which deliver nowhere",
        shown="unset",
    )
    webhook_secret: Annotated[str | None, BeforeValidator(_secret)] = env(
        "LEDGER_NOTIFY_WEBHOOK_SECRET",
        None,
        "HMAC key of the webhooks' `X-Ledger-Signature` (at least 16 characters); required "
        "when a rule delivers to a webhook",
        secret=True,
    )
    smtp: Annotated[InstanceOf[SmtpConfig] | None, BeforeValidator(_smtp)] = env(
        "LEDGER_SMTP_URL",
        None,
        "mail server of the e-mail channel: `smtp://[user:password@]host[:25]`, "
        "`smtp+starttls://...:587` or `smtps://...:465`; required when a rule delivers by "
        "e-mail",
        secret=True,
        cross_check=True,
    )
    email_from: Annotated[str, BeforeValidator(_sender)] = env(
        "LEDGER_NOTIFY_EMAIL_FROM", "ledger@localhost", "sender address of notification e-mails"
    )
    retry_base_seconds: Annotated[float, parsing.positive_seconds()] = env(
        "LEDGER_NOTIFY_RETRY_BASE_SECONDS",
        DEFAULT_NOTIFY_RETRY_BASE_SECONDS,
        "wait after the first failed attempt; doubled after each further one",
    )
    retry_max_seconds: Annotated[float, parsing.positive_seconds()] = env(
        "LEDGER_NOTIFY_RETRY_MAX_SECONDS",
        DEFAULT_NOTIFY_RETRY_MAX_SECONDS,
        "longest wait between two attempts",
        cross_check=True,
    )
    max_attempts: Annotated[int, parsing.integer(1, 100)] = env(
        "LEDGER_NOTIFY_MAX_ATTEMPTS",
        DEFAULT_NOTIFY_MAX_ATTEMPTS,
        "attempts before a delivery gives up (1-100)",
    )
    timeout_seconds: Annotated[float, parsing.positive_seconds()] = env(
        "LEDGER_NOTIFY_TIMEOUT_SECONDS",
        DEFAULT_NOTIFY_TIMEOUT_SECONDS,
        "timeout of one webhook, SMTP or broker send",
    )
    start: Annotated[
        Literal["now", "beginning"],
        parsing.choice(("now", "beginning"), "must be now or beginning, got {value!r}"),
    ] = env(
        "LEDGER_NOTIFY_START",
        "now",
        "where the rules start in a log they never read: `now` (only what happens from then "
        "on notifies) or `beginning` (the whole history)",
    )

    @field_validator("smtp")
    @classmethod
    def _channels_configured(cls, smtp: SmtpConfig | None, info: ValidationInfo) -> object:
        """Every active rule's channel is configured (rules and secret checked before)."""
        if "rules" not in info.data:
            return smtp
        problems = []
        for rule in info.data["rules"].active:
            if rule.channel is Channel.WEBHOOK:
                if "webhook_secret" in info.data and info.data["webhook_secret"] is None:
                    problems.append(
                        f"LEDGER_NOTIFY_WEBHOOK_SECRET: rule {rule.name!r} delivers to a "
                        "webhook; set the secret its receivers verify X-Ledger-Signature with"
                    )
            elif rule.channel is Channel.EMAIL and smtp is None:
                problems.append(
                    f"LEDGER_SMTP_URL: rule {rule.name!r} delivers by e-mail; name the mail server"
                )
            elif rule.channel is Channel.STOMP and not reading().stomp_configured:
                problems.append(
                    f"LEDGER_STOMP_URL: rule {rule.name!r} publishes to a broker; name the broker"
                )
        if problems:
            raise Problems(problems)
        return smtp

    @field_validator("retry_max_seconds")
    @classmethod
    def _not_below_base(cls, ceiling: float, info: ValidationInfo) -> float:
        base = info.data.get("retry_base_seconds", DEFAULT_NOTIFY_RETRY_BASE_SECONDS)
        if ceiling < base:
            raise ValueError("must not be below the retry base")
        return ceiling

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base=timedelta(seconds=self.retry_base_seconds),
            max_attempts=self.max_attempts,
            max_delay=timedelta(seconds=self.retry_max_seconds),
        )
