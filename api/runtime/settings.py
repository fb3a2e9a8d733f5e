"""Settings: read once from the environment at startup, validated, then passed around.

Nothing reads the environment at import time: :meth:`Settings.from_env` is called by the
CLI (or a test) and the resulting object travels through :func:`api.runtime.bootstrap.bootstrap`.
Every problem found is reported at once in a :class:`SettingsError`, naming the variable.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from adapters.auth.config import AuthConfig, auth_config_from_env
from adapters.messaging.config import StompConfig, stomp_config_from_env
from adapters.notifications.email import SmtpConfig, parse_smtp_url
from adapters.notifications.rules_file import RulesFileError, load_rules
from adapters.persistence import DatabaseConfig, pg_params
from api.graphql.budget import GraphQLBudget
from application.ledger.screening import AmountLimits
from domain.errors import InvalidMoney
from domain.money import check_currency
from domain.notifications.deliveries import RetryPolicy
from domain.notifications.rules import Channel, RuleSet, default_rules

Environment = Literal["development", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Demo defaults: review above 10,000, decline above 50,000, at most 100,000 out per day
# and debtor, in each currency the demo books (PLN and SEK scaled to similar value).
DEFAULT_REVIEW_ABOVE = "EUR:10000,USD:10000,GBP:10000,CHF:10000,PLN:40000,SEK:100000"
DEFAULT_DECLINE_ABOVE = "EUR:50000,USD:50000,GBP:50000,CHF:50000,PLN:200000,SEK:500000"
DEFAULT_DAILY_LIMIT = "EUR:100000,USD:100000,GBP:100000,CHF:100000,PLN:400000,SEK:1000000"
# Reversals above these amounts take effect only when a second person approves them.
DEFAULT_REVERSAL_APPROVAL_ABOVE = "EUR:10000,USD:10000,GBP:10000,CHF:10000,PLN:40000,SEK:100000"
DEFAULT_OVERDRAFT_APPROVAL_ABOVE = "EUR:10000,USD:10000,GBP:10000,CHF:10000,PLN:40000,SEK:100000"
DEFAULT_APPROVAL_TTL_HOURS = 24

# API hardening: GraphQL document limits, per-principal rate limit, request body size.
DEFAULT_GRAPHQL_MAX_DEPTH = 12
DEFAULT_GRAPHQL_MAX_TOKENS = 2000
DEFAULT_GRAPHQL_MAX_ALIASES = 15
DEFAULT_RATE_LIMIT_PER_SECOND = 50.0
DEFAULT_RATE_LIMIT_BURST = 100
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Notifications: retry back-off (base doubled per failed attempt, capped), attempts, timeout.
DEFAULT_NOTIFY_RETRY_BASE_SECONDS = 30.0
DEFAULT_NOTIFY_RETRY_MAX_SECONDS = 3600.0
DEFAULT_NOTIFY_MAX_ATTEMPTS = 8
DEFAULT_NOTIFY_TIMEOUT_SECONDS = 10.0
MIN_WEBHOOK_SECRET = 16

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class SettingsError(ValueError):
    """One or more LEDGER_* variables are invalid; the message lists each problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Settings:
    """Everything the process is configured with. Defaults suit a laptop."""

    data_dir: Path = Path("var")
    database_url: str | None = None
    database_schema: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    env: Environment = "development"
    log_level: str = "INFO"
    review_above: dict[str, Decimal] = field(
        default_factory=lambda: _parse_limits("", DEFAULT_REVIEW_ABOVE, [])
    )
    decline_above: dict[str, Decimal] = field(
        default_factory=lambda: _parse_limits("", DEFAULT_DECLINE_ABOVE, [])
    )
    daily_limit: dict[str, Decimal] = field(
        default_factory=lambda: _parse_limits("", DEFAULT_DAILY_LIMIT, [])
    )
    projector_batch_size: int = 500
    projector_poll_interval: float = 0.2
    db_pool_size: int = 5
    ready_max_lag: int = 10_000
    stomp: StompConfig | None = None
    """The broker to ingest from (``LEDGER_STOMP_URL``); None: no message-queue ingestion."""
    fraud_review_score: Decimal = Decimal("0.5")
    fraud_decline_score: Decimal = Decimal("0.9")
    fraud_blocklist: tuple[str, ...] = ()
    fraud_review_deadline_minutes: int = 60
    """A case undecided this long after its payment was held is escalated by the fraud role
    (``LEDGER_FRAUD_REVIEW_DEADLINE_MINUTES``)."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    """Who may call the API: token issuer, audience and keys (``LEDGER_AUTH_*``)."""
    graphql_max_depth: int = DEFAULT_GRAPHQL_MAX_DEPTH
    """Deepest selection nesting a GraphQL document may have (``LEDGER_GRAPHQL_MAX_DEPTH``)."""
    graphql_max_tokens: int = DEFAULT_GRAPHQL_MAX_TOKENS
    """Most lexer tokens in a GraphQL document; the parser stops beyond it."""
    graphql_max_aliases: int = DEFAULT_GRAPHQL_MAX_ALIASES
    """Most aliased fields in a GraphQL document (aliases multiply the work of one field)."""
    rate_limit_per_second: float = DEFAULT_RATE_LIMIT_PER_SECOND
    """Sustained requests per second per principal; 0 turns the limit off."""
    rate_limit_burst: int = DEFAULT_RATE_LIMIT_BURST
    """Requests a principal may make at once before the sustained rate applies; 0: no limit."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Largest request body accepted (413 above it)."""
    reversal_approval_above: dict[str, Decimal] = field(
        default_factory=lambda: _parse_limits("", DEFAULT_REVERSAL_APPROVAL_ABOVE, [])
    )
    """Reversals above these per-currency amounts need a maker-checker request; in a currency
    not listed here every reversal, of any amount, needs one (fail closed)."""
    overdraft_approval_above: dict[str, Decimal] = field(
        default_factory=lambda: _parse_limits("", DEFAULT_OVERDRAFT_APPROVAL_ABOVE, [])
    )
    """Overdraft limits above these per-currency ceilings need a maker-checker request; in a
    currency not listed here every limit above zero does (fail closed)."""
    approval_ttl_hours: int = DEFAULT_APPROVAL_TTL_HOURS
    """How long a maker-checker request waits for its checker before it expires."""
    notification_rules: RuleSet = field(default_factory=default_rules)
    """The notification rules (``LEDGER_NOTIFICATION_RULES``; the built-in ones, inactive,
    when unset)."""
    notify_webhook_secret: str | None = field(default=None, repr=False)
    """The HMAC key of ``X-Ledger-Signature`` (``LEDGER_NOTIFY_WEBHOOK_SECRET``)."""
    notify_retry_base_seconds: float = DEFAULT_NOTIFY_RETRY_BASE_SECONDS
    notify_retry_max_seconds: float = DEFAULT_NOTIFY_RETRY_MAX_SECONDS
    notify_max_attempts: int = DEFAULT_NOTIFY_MAX_ATTEMPTS
    notify_timeout_seconds: float = DEFAULT_NOTIFY_TIMEOUT_SECONDS
    smtp: SmtpConfig | None = field(default=None, repr=False)
    """The mail server of the e-mail channel (``LEDGER_SMTP_URL``)."""
    notify_email_from: str = "ledger@localhost"
    notify_start: Literal["now", "beginning"] = "now"
    """Where the rules start reading a log they never read (``LEDGER_NOTIFY_START``): ``now``
    (only what happens from the first start on notifies) or ``beginning`` (all history)."""
    reconciliation_inbox: Path | None = None
    """Where core banking drops camt.053 statements (``LEDGER_RECONCILIATION_INBOX``); None:
    ``<data dir>/reconciliation/inbox``. See :attr:`reconciliation_inbox_dir`."""
    graphql_budget: GraphQLBudget = field(default_factory=GraphQLBudget)
    """Cost, nested page size, deadline and concurrency of GraphQL (``LEDGER_GRAPHQL_*``)."""

    # -- derived -------------------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def reconciliation_inbox_dir(self) -> Path:
        """The statement inbox: ``LEDGER_RECONCILIATION_INBOX`` or under the data directory."""
        if self.reconciliation_inbox is not None:
            return self.reconciliation_inbox
        return self.data_dir / "reconciliation" / "inbox"

    @property
    def rate_limited(self) -> bool:
        """Whether requests are rate limited per principal (both numbers above zero)."""
        return self.rate_limit_per_second > 0 and self.rate_limit_burst > 0

    def database(self) -> DatabaseConfig:
        return DatabaseConfig(
            data_dir=self.data_dir,
            url=self.database_url,
            schema=self.database_schema,
            pool_size=self.db_pool_size,
        )

    def amount_limits(self) -> AmountLimits:
        return AmountLimits(
            review_above=dict(self.review_above),
            decline_above=dict(self.decline_above),
            daily_limit=dict(self.daily_limit),
        )

    def notify_retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base=timedelta(seconds=self.notify_retry_base_seconds),
            max_attempts=self.notify_max_attempts,
            max_delay=timedelta(seconds=self.notify_retry_max_seconds),
        )

    def with_database(self, database: DatabaseConfig) -> Settings:
        """These settings pointed at ``database`` (tests use this with their fixtures)."""
        return replace(
            self,
            data_dir=database.data_dir,
            database_url=database.url,
            database_schema=database.schema,
            db_pool_size=database.pool_size,
        )

    def describe(self) -> dict[str, Any]:
        """The settings for a startup log line; the database password is hidden."""
        return {
            "data_dir": str(self.data_dir),
            "database": _hide_password(self.database_url) if self.database_url else "sqlite",
            "schema": self.database_schema,
            "host": self.host,
            "port": self.port,
            "env": self.env,
            "broker": self.stomp.describe()["broker"] if self.stomp else None,
            "notification_rules": self.notification_rules.source,
            "notification_rules_active": len(self.notification_rules.active),
            "smtp": self.smtp.describe() if self.smtp else None,
            "reconciliation_inbox": str(self.reconciliation_inbox_dir),
        }

    # -- parsing -------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``LEDGER_*`` variable; raise :class:`SettingsError` listing all problems."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(name: str) -> str:
            return env.get(name, "").strip()

        data_dir = Path(get("LEDGER_DATA_DIR") or "var")
        url = get("LEDGER_DATABASE_URL") or None
        if url is not None:
            scheme = urlsplit(url).scheme
            if scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
                problems.append(
                    "LEDGER_DATABASE_URL: must be a postgresql://user:password@host:port/db URL "
                    f"(unset it for the embedded SQLite store), got scheme {scheme!r}"
                )
            else:
                try:  # libpq's own parser: an unknown parameter (sslmod=...) is refused here
                    pg_params(url)
                except ValueError as error:
                    problems.append(str(error))
        schema = get("LEDGER_DATABASE_SCHEMA") or None
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                problems.append(
                    "LEDGER_DATABASE_SCHEMA: must be a plain SQL identifier "
                    f"(letters, digits, underscore; at most 63), got {schema!r}"
                )
            elif url is None:
                problems.append("LEDGER_DATABASE_SCHEMA: only applies with LEDGER_DATABASE_URL")
        host = get("LEDGER_HOST") or "127.0.0.1"
        port = _int(get("LEDGER_PORT"), "LEDGER_PORT", 8000, problems, low=1, high=65535)
        environment = (get("LEDGER_ENV") or "development").lower()
        if environment not in ENVIRONMENTS:
            problems.append(f"LEDGER_ENV: must be development or production, got {environment!r}")
            environment = "development"
        log_level = (get("LEDGER_LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            problems.append(f"LEDGER_LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}")
            log_level = "INFO"
        review = _parse_limits(
            "LEDGER_SCREENING_REVIEW_ABOVE",
            get("LEDGER_SCREENING_REVIEW_ABOVE") or DEFAULT_REVIEW_ABOVE,
            problems,
        )
        decline = _parse_limits(
            "LEDGER_SCREENING_DECLINE_ABOVE",
            get("LEDGER_SCREENING_DECLINE_ABOVE") or DEFAULT_DECLINE_ABOVE,
            problems,
        )
        daily = _parse_limits(
            "LEDGER_SCREENING_DAILY_LIMIT",
            get("LEDGER_SCREENING_DAILY_LIMIT") or DEFAULT_DAILY_LIMIT,
            problems,
        )
        for currency, review_limit in review.items():
            decline_limit = decline.get(currency)
            if decline_limit is not None and review_limit >= decline_limit:
                problems.append(
                    f"LEDGER_SCREENING_REVIEW_ABOVE: {currency} {review_limit} is not below the "
                    f"decline limit {decline_limit}; nothing would ever be held for review"
                )
        batch = _int(
            get("LEDGER_PROJECTOR_BATCH_SIZE"), "LEDGER_PROJECTOR_BATCH_SIZE", 500, problems, low=1
        )
        poll = _float(get("LEDGER_PROJECTOR_POLL_INTERVAL"), "LEDGER_PROJECTOR_POLL_INTERVAL", 0.2)
        if isinstance(poll, str):
            problems.append(poll)
            poll = 0.2
        elif not 0 < poll <= 60:
            problems.append("LEDGER_PROJECTOR_POLL_INTERVAL: must be > 0 and <= 60 seconds")
        pool = _int(get("LEDGER_DB_POOL_SIZE"), "LEDGER_DB_POOL_SIZE", 5, problems, low=1, high=200)
        max_lag = _int(get("LEDGER_READY_MAX_LAG"), "LEDGER_READY_MAX_LAG", 10_000, problems, low=0)
        stomp = stomp_config_from_env(env, problems)
        fraud_review = _score(get("LEDGER_FRAUD_REVIEW_SCORE"), "LEDGER_FRAUD_REVIEW_SCORE", "0.5")
        fraud_decline = _score(
            get("LEDGER_FRAUD_DECLINE_SCORE"), "LEDGER_FRAUD_DECLINE_SCORE", "0.9"
        )
        for value in (fraud_review, fraud_decline):
            if isinstance(value, str):
                problems.append(value)
        if (
            isinstance(fraud_review, Decimal)
            and isinstance(fraud_decline, Decimal)
            and fraud_review > fraud_decline
        ):
            problems.append("LEDGER_FRAUD_REVIEW_SCORE: must not be above the decline score")
        blocklist = tuple(
            item.replace(" ", "").upper()
            for item in get("LEDGER_FRAUD_BLOCKLIST").split(",")
            if item.strip()
        )
        review_deadline = _int(
            get("LEDGER_FRAUD_REVIEW_DEADLINE_MINUTES"),
            "LEDGER_FRAUD_REVIEW_DEADLINE_MINUTES",
            60,
            problems,
            low=1,
            high=7 * 24 * 60,
        )
        auth = auth_config_from_env(env, problems, production=environment == "production")
        max_depth = _int(
            get("LEDGER_GRAPHQL_MAX_DEPTH"),
            "LEDGER_GRAPHQL_MAX_DEPTH",
            DEFAULT_GRAPHQL_MAX_DEPTH,
            problems,
            low=1,
            high=100,
        )
        max_tokens = _int(
            get("LEDGER_GRAPHQL_MAX_TOKENS"),
            "LEDGER_GRAPHQL_MAX_TOKENS",
            DEFAULT_GRAPHQL_MAX_TOKENS,
            problems,
            low=100,
        )
        max_aliases = _int(
            get("LEDGER_GRAPHQL_MAX_ALIASES"),
            "LEDGER_GRAPHQL_MAX_ALIASES",
            DEFAULT_GRAPHQL_MAX_ALIASES,
            problems,
            low=0,
        )
        rate = _rate(
            get("LEDGER_RATE_LIMIT_PER_SECOND"),
            "LEDGER_RATE_LIMIT_PER_SECOND",
            DEFAULT_RATE_LIMIT_PER_SECOND,
            problems,
        )
        burst = _int(
            get("LEDGER_RATE_LIMIT_BURST"),
            "LEDGER_RATE_LIMIT_BURST",
            DEFAULT_RATE_LIMIT_BURST,
            problems,
            low=0,
        )
        max_body = _int(
            get("LEDGER_MAX_BODY_BYTES"),
            "LEDGER_MAX_BODY_BYTES",
            DEFAULT_MAX_BODY_BYTES,
            problems,
            low=1024,
        )
        reversal_approval = _parse_limits(
            "LEDGER_REVERSAL_APPROVAL_ABOVE",
            get("LEDGER_REVERSAL_APPROVAL_ABOVE") or DEFAULT_REVERSAL_APPROVAL_ABOVE,
            problems,
        )
        overdraft_approval = _parse_limits(
            "LEDGER_OVERDRAFT_APPROVAL_ABOVE",
            get("LEDGER_OVERDRAFT_APPROVAL_ABOVE") or DEFAULT_OVERDRAFT_APPROVAL_ABOVE,
            problems,
        )
        approval_ttl = _int(
            get("LEDGER_APPROVAL_TTL_HOURS"),
            "LEDGER_APPROVAL_TTL_HOURS",
            DEFAULT_APPROVAL_TTL_HOURS,
            problems,
            low=1,
            high=24 * 90,
        )
        notify = _notification_settings(env, problems, stomp, environment == "development")
        inbox_raw = get("LEDGER_RECONCILIATION_INBOX")
        inbox = Path(inbox_raw) if inbox_raw else None
        graphql_budget = GraphQLBudget.from_env(env, problems)
        if problems:
            raise SettingsError(problems)
        return cls(
            data_dir=data_dir,
            database_url=url,
            database_schema=schema,
            host=host,
            port=port,
            env=environment,  # type: ignore[arg-type]  # checked against ENVIRONMENTS above
            log_level=log_level,
            review_above=review,
            decline_above=decline,
            daily_limit=daily,
            projector_batch_size=batch,
            projector_poll_interval=poll,
            db_pool_size=pool,
            ready_max_lag=max_lag,
            stomp=stomp,
            fraud_review_score=fraud_review,  # type: ignore[arg-type]  # checked above
            fraud_decline_score=fraud_decline,  # type: ignore[arg-type]
            fraud_blocklist=blocklist,
            fraud_review_deadline_minutes=review_deadline,
            auth=auth,
            graphql_max_depth=max_depth,
            graphql_max_tokens=max_tokens,
            graphql_max_aliases=max_aliases,
            rate_limit_per_second=rate,
            rate_limit_burst=burst,
            max_body_bytes=max_body,
            reversal_approval_above=reversal_approval,
            overdraft_approval_above=overdraft_approval,
            approval_ttl_hours=approval_ttl,
            **notify,
            reconciliation_inbox=inbox,
            graphql_budget=graphql_budget,
        )


def _notification_settings(
    env: Mapping[str, str], problems: list[str], stomp: StompConfig | None, development: bool
) -> dict[str, Any]:
    """The ``notification_rules`` and ``notify_*`` settings; a rule whose channel is not
    configured (no secret, no mail server, no broker) is a problem, named after the rule."""

    def get(name: str) -> str:
        return env.get(name, "").strip()

    rules = default_rules()
    path = get("LEDGER_NOTIFICATION_RULES")
    if path:
        try:
            rules = load_rules(Path(path), allow_local_http=development)
        except RulesFileError as error:
            problems.extend(f"LEDGER_NOTIFICATION_RULES: {p}" for p in error.problems)
    secret = get("LEDGER_NOTIFY_WEBHOOK_SECRET") or None
    if secret is not None and len(secret) < MIN_WEBHOOK_SECRET:
        problems.append(
            f"LEDGER_NOTIFY_WEBHOOK_SECRET: must be at least {MIN_WEBHOOK_SECRET} characters"
        )
    smtp_url = get("LEDGER_SMTP_URL")
    smtp = parse_smtp_url(smtp_url, problems) if smtp_url else None
    for rule in rules.active:
        if rule.channel is Channel.WEBHOOK and secret is None:
            problems.append(
                f"LEDGER_NOTIFY_WEBHOOK_SECRET: rule {rule.name!r} delivers to a webhook; "
                "set the secret its receivers verify X-Ledger-Signature with"
            )
        elif rule.channel is Channel.EMAIL and smtp is None:
            problems.append(
                f"LEDGER_SMTP_URL: rule {rule.name!r} delivers by e-mail; name the mail server"
            )
        elif rule.channel is Channel.STOMP and stomp is None:
            problems.append(
                f"LEDGER_STOMP_URL: rule {rule.name!r} publishes to a broker; name the broker"
            )
    base = _float(
        get("LEDGER_NOTIFY_RETRY_BASE_SECONDS"),
        "LEDGER_NOTIFY_RETRY_BASE_SECONDS",
        DEFAULT_NOTIFY_RETRY_BASE_SECONDS,
    )
    ceiling = _float(
        get("LEDGER_NOTIFY_RETRY_MAX_SECONDS"),
        "LEDGER_NOTIFY_RETRY_MAX_SECONDS",
        DEFAULT_NOTIFY_RETRY_MAX_SECONDS,
    )
    timeout = _float(
        get("LEDGER_NOTIFY_TIMEOUT_SECONDS"),
        "LEDGER_NOTIFY_TIMEOUT_SECONDS",
        DEFAULT_NOTIFY_TIMEOUT_SECONDS,
    )
    checked: dict[str, float] = {}
    for name, value, default in (
        ("LEDGER_NOTIFY_RETRY_BASE_SECONDS", base, DEFAULT_NOTIFY_RETRY_BASE_SECONDS),
        ("LEDGER_NOTIFY_RETRY_MAX_SECONDS", ceiling, DEFAULT_NOTIFY_RETRY_MAX_SECONDS),
        ("LEDGER_NOTIFY_TIMEOUT_SECONDS", timeout, DEFAULT_NOTIFY_TIMEOUT_SECONDS),
    ):
        if isinstance(value, str):
            problems.append(value)
            value = default
        elif not math.isfinite(value) or value <= 0:
            problems.append(f"{name}: must be a positive number of seconds")
            value = default
        checked[name] = value
    if checked["LEDGER_NOTIFY_RETRY_MAX_SECONDS"] < checked["LEDGER_NOTIFY_RETRY_BASE_SECONDS"]:
        problems.append("LEDGER_NOTIFY_RETRY_MAX_SECONDS: must not be below the retry base")
    attempts = _int(
        get("LEDGER_NOTIFY_MAX_ATTEMPTS"),
        "LEDGER_NOTIFY_MAX_ATTEMPTS",
        DEFAULT_NOTIFY_MAX_ATTEMPTS,
        problems,
        low=1,
        high=100,
    )
    start = (get("LEDGER_NOTIFY_START") or "now").lower()
    if start not in {"now", "beginning"}:
        problems.append(f"LEDGER_NOTIFY_START: must be now or beginning, got {start!r}")
        start = "now"
    sender = get("LEDGER_NOTIFY_EMAIL_FROM") or "ledger@localhost"
    if "@" not in sender or any(c in sender for c in "\r\n"):
        problems.append(f"LEDGER_NOTIFY_EMAIL_FROM: must be an e-mail address, got {sender!r}")
    return {
        "notification_rules": rules,
        "notify_webhook_secret": secret,
        "notify_retry_base_seconds": checked["LEDGER_NOTIFY_RETRY_BASE_SECONDS"],
        "notify_retry_max_seconds": checked["LEDGER_NOTIFY_RETRY_MAX_SECONDS"],
        "notify_max_attempts": attempts,
        "notify_timeout_seconds": checked["LEDGER_NOTIFY_TIMEOUT_SECONDS"],
        "smtp": smtp,
        "notify_email_from": sender,
        "notify_start": start,
    }


def _int(
    raw: str,
    name: str,
    default: int,
    problems: list[str],
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}: must be an integer, got {raw!r}")
        return default
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        problems.append(f"{name}: must be {bounds}, got {value}")
        return default
    return value


def _float(raw: str, name: str, default: float) -> float | str:
    """The number, or a problem message."""
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        return f"{name}: must be a number of seconds, got {raw!r}"


def _rate(raw: str, name: str, default: float, problems: list[str]) -> float:
    """A non-negative, finite number of requests per second (0: no limit)."""
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name}: must be a number of requests per second, got {raw!r}")
        return default
    if not math.isfinite(value) or value < 0:
        problems.append(f"{name}: must be 0 (no limit) or a positive number, got {raw!r}")
        return default
    return value


def _score(raw: str, name: str, default: str) -> Decimal | str:
    """A score threshold between 0 and 1, or a problem message."""
    try:
        value = Decimal(raw or default)
    except InvalidOperation:
        return f"{name}: must be a decimal between 0 and 1, got {raw!r}"
    if not value.is_finite() or not 0 <= value <= 1:
        return f"{name}: must be between 0 and 1, got {raw!r}"
    return value


def _parse_limits(name: str, text: str, problems: list[str]) -> dict[str, Decimal]:
    """Parse ``"EUR:10000,USD:10000"``; an empty string (or ``none``) means no limits."""
    limits: dict[str, Decimal] = {}
    if text.lower() == "none":
        return limits
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, sep, amount = item.partition(":")
        currency = currency.strip().upper()
        if not sep:
            problems.append(f"{name}: {item!r} must look like CCY:AMOUNT, e.g. EUR:10000")
            continue
        try:
            check_currency(currency)
        except InvalidMoney as error:
            problems.append(f"{name}: {error}")
            continue
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            problems.append(f"{name}: {item!r}: {amount.strip()!r} is not a decimal amount")
            continue
        if not value.is_finite() or value <= 0:
            problems.append(f"{name}: {item!r}: the amount must be greater than zero")
            continue
        if currency in limits:
            problems.append(f"{name}: {currency} is given twice")
            continue
        limits[currency] = value
    return limits


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    query = re.sub(r"(?i)((?:^|&)(?:ssl)?password=)[^&]*", r"\1***", parts.query)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc, query=query).geturl()
