"""The plain sections: database, projections, HTTP, GraphQL, ledger limits, fraud, reconciliation.

Each field is one variable (its alias); its ``doc`` is the line docs/configuration.md shows.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, ValidationInfo, field_validator

from adapters.persistence import DatabaseConfig, pg_params
from api.graphql.budget import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_COST,
    DEFAULT_MAX_NESTED_PAGE,
    DEFAULT_WORKERS,
    GraphQLBudget,
)
from api.runtime.settings import parsing
from api.runtime.settings.base import Problems, Section, env
from application.ledger.screening import AmountLimits

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

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

Limits = Annotated[dict[str, Decimal], parsing.limits()]


def _limits(text: str) -> Any:
    return lambda: parsing.parse_limits(text)


class DatabaseSettings(Section):
    """Where events and read models live: PostgreSQL, or SQLite under the data directory."""

    url: str | None = env(
        "LEDGER_DATABASE_URL",
        None,
        "`postgresql://user:password@host:5432/db` selects PostgreSQL for events and read "
        "models; unset = SQLite under the data dir",
        secret=True,
    )
    schema_name: str | None = env(
        "LEDGER_DATABASE_SCHEMA",
        None,
        "PostgreSQL schema to use (created if missing); only with `LEDGER_DATABASE_URL`",
    )
    pool_size: Annotated[int, parsing.integer(1, 200)] = env(
        "LEDGER_DB_POOL_SIZE",
        5,
        "connection pool size (PostgreSQL; the overflow is as large again)",
    )

    @field_validator("url")
    @classmethod
    def _postgres(cls, url: str | None) -> str | None:
        if url is None:
            return url
        scheme = urlsplit(url).scheme
        if scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
            raise ValueError(
                "must be a postgresql://user:password@host:port/db URL "
                f"(unset it for the embedded SQLite store), got scheme {scheme!r}"
            )
        try:  # libpq's own parser: an unknown parameter (sslmod=...) is refused here
            pg_params(url)
        except ValueError as error:
            raise Problems([str(error)]) from None
        return url

    @field_validator("schema_name")
    @classmethod
    def _identifier(cls, schema: str | None, info: ValidationInfo) -> str | None:
        if schema is None:
            return schema
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(
                "must be a plain SQL identifier "
                f"(letters, digits, underscore; at most 63), got {schema!r}"
            )
        if "url" in info.data and info.data["url"] is None:
            raise ValueError("only applies with LEDGER_DATABASE_URL")
        return schema

    def config(self, data_dir: Path) -> DatabaseConfig:
        return DatabaseConfig(
            data_dir=data_dir, url=self.url, schema=self.schema_name, pool_size=self.pool_size
        )


class ProjectionSettings(Section):
    """How the projectors read the event log, and how far behind is still ready."""

    batch_size: Annotated[int, parsing.integer(1)] = env(
        "LEDGER_PROJECTOR_BATCH_SIZE", 500, "events per read-model transaction"
    )
    poll_interval: Annotated[
        float, parsing.seconds(lambda v: 0 < v <= 60, "must be > 0 and <= 60 seconds")
    ] = env(
        "LEDGER_PROJECTOR_POLL_INTERVAL", 0.2, "seconds between polls of the event log (SQLite)"
    )
    ready_max_lag: Annotated[int, parsing.integer(0)] = env(
        "LEDGER_READY_MAX_LAG",
        10_000,
        "`/readyz` answers 503 when a projection is more events behind than this",
    )


class GraphQLSettings(Section):
    """The shape (depth, tokens, aliases) and the cost budget of one GraphQL document."""

    max_depth: Annotated[int, parsing.integer(1, 100)] = env(
        "LEDGER_GRAPHQL_MAX_DEPTH",
        DEFAULT_GRAPHQL_MAX_DEPTH,
        "deepest field nesting a GraphQL document may have (1-100); deeper is refused before "
        "it runs",
    )
    max_tokens: Annotated[int, parsing.integer(100)] = env(
        "LEDGER_GRAPHQL_MAX_TOKENS",
        DEFAULT_GRAPHQL_MAX_TOKENS,
        "most lexer tokens in a GraphQL document (at least 100); the parser stops beyond it",
    )
    max_aliases: Annotated[int, parsing.integer(0)] = env(
        "LEDGER_GRAPHQL_MAX_ALIASES",
        DEFAULT_GRAPHQL_MAX_ALIASES,
        "most aliased fields in a GraphQL document (0: none allowed)",
    )
    max_cost: Annotated[int, parsing.bounded(1, 100_000_000, whole=True)] = env(
        "LEDGER_GRAPHQL_MAX_COST",
        DEFAULT_MAX_COST,
        "most a GraphQL document may cost (page sizes multiplied along nested connections); "
        "more is refused before it runs (`QUERY_TOO_EXPENSIVE`); see "
        "[graphql.md](graphql.md#limits-and-what-they-answer)",
    )
    max_nested_page: Annotated[int, parsing.bounded(1, 200, whole=True)] = env(
        "LEDGER_GRAPHQL_MAX_NESTED_PAGE",
        DEFAULT_MAX_NESTED_PAGE,
        "largest `first` of a connection inside a list (1-200)",
    )
    deadline_seconds: Annotated[float, parsing.bounded(0.1, 600, whole=False)] = env(
        "LEDGER_GRAPHQL_DEADLINE_SECONDS",
        DEFAULT_DEADLINE_SECONDS,
        "an execution still running after this is cancelled (`DEADLINE_EXCEEDED`)",
    )
    max_concurrent: Annotated[int, parsing.bounded(1, 1000, whole=True)] = env(
        "LEDGER_GRAPHQL_MAX_CONCURRENT",
        DEFAULT_MAX_CONCURRENT,
        "GraphQL executions one principal may run at once; one more is answered **429**",
    )
    workers: Annotated[int, parsing.bounded(1, 256, whole=True)] = env(
        "LEDGER_GRAPHQL_WORKERS",
        DEFAULT_WORKERS,
        "threads that run GraphQL executions, apart from the event loop and REST's threads",
    )

    @property
    def budget(self) -> GraphQLBudget:
        """What one request may cost the server (see :mod:`api.graphql.budget`)."""
        return GraphQLBudget(
            max_cost=self.max_cost,
            max_nested_page=self.max_nested_page,
            deadline_seconds=self.deadline_seconds,
            max_concurrent=self.max_concurrent,
            workers=self.workers,
        )


class HttpSettings(Section):
    """Where ``ledger serve`` listens and what one principal may send it."""

    host: str = env("LEDGER_HOST", "127.0.0.1", "bind address of `ledger serve`")
    port: Annotated[int, parsing.integer(1, 65535)] = env(
        "LEDGER_PORT", 8000, "port of `ledger serve`"
    )
    rate_limit_per_second: Annotated[float, parsing.rate()] = env(
        "LEDGER_RATE_LIMIT_PER_SECOND",
        DEFAULT_RATE_LIMIT_PER_SECOND,
        "sustained requests per second per principal (REST and GraphQL together; fractions "
        "allowed); above it **429** with `Retry-After`; `0` turns the limit off",
    )
    rate_limit_burst: Annotated[int, parsing.integer(0)] = env(
        "LEDGER_RATE_LIMIT_BURST",
        DEFAULT_RATE_LIMIT_BURST,
        "requests a principal may make at once before the sustained rate applies; `0` turns "
        "the limit off",
    )
    max_body_bytes: Annotated[int, parsing.integer(1024)] = env(
        "LEDGER_MAX_BODY_BYTES",
        DEFAULT_MAX_BODY_BYTES,
        "largest request body (at least 1024); a larger one is refused with **413**, chunked "
        "bodies included",
    )

    @property
    def rate_limited(self) -> bool:
        """Whether requests are rate limited per principal (both numbers above zero)."""
        return self.rate_limit_per_second > 0 and self.rate_limit_burst > 0


class LedgerSettings(Section):
    """Screening limits of outgoing payments and the maker-checker thresholds."""

    review_above: Limits = env(
        "LEDGER_SCREENING_REVIEW_ABOVE",
        _limits(DEFAULT_REVIEW_ABOVE),
        "an outgoing payment above this is HELD for review",
        shown=f"`{DEFAULT_REVIEW_ABOVE}`",
    )
    decline_above: Limits = env(
        "LEDGER_SCREENING_DECLINE_ABOVE",
        _limits(DEFAULT_DECLINE_ABOVE),
        "an outgoing payment above this is REJECTED (`SCREENING_DECLINED`)",
        shown=f"`{DEFAULT_DECLINE_ABOVE}`",
        cross_check=True,
    )
    daily_limit: Limits = env(
        "LEDGER_SCREENING_DAILY_LIMIT",
        _limits(DEFAULT_DAILY_LIMIT),
        "a payment that takes the debtor's outflow of the day above this is declined",
        shown=f"`{DEFAULT_DAILY_LIMIT}`",
    )
    reversal_approval_above: Limits = env(
        "LEDGER_REVERSAL_APPROVAL_ABOVE",
        _limits(DEFAULT_REVERSAL_APPROVAL_ABOVE),
        "a reversal above this takes effect only on a second person's approval "
        "(`requestReversal`); at or below it `reverseTransaction` reverses at once. A currency "
        "not listed has no direct reversals: every reversal in it, of any amount, needs "
        "approval (fail closed)",
        shown=f"`{DEFAULT_REVERSAL_APPROVAL_ABOVE}`",
    )
    overdraft_approval_above: Limits = env(
        "LEDGER_OVERDRAFT_APPROVAL_ABOVE",
        _limits(DEFAULT_OVERDRAFT_APPROVAL_ABOVE),
        "opening an account with an overdraft limit above this is refused (409 / "
        "`APPROVAL_REQUIRED`): open it lower and ask with `requestOverdraftLimit`, which a "
        "second person approves. A currency not listed allows no overdraft without approval "
        "(fail closed); a limit of 12 or more integer digits is refused outright (422)",
        shown=f"`{DEFAULT_OVERDRAFT_APPROVAL_ABOVE}`",
    )
    approval_ttl_hours: Annotated[int, parsing.integer(1, 24 * 90)] = env(
        "LEDGER_APPROVAL_TTL_HOURS",
        DEFAULT_APPROVAL_TTL_HOURS,
        "how long a maker-checker request waits for its checker before it expires (1 to 2160)",
    )

    @field_validator("decline_above")
    @classmethod
    def _review_below_decline(
        cls, decline: dict[str, Decimal], info: ValidationInfo
    ) -> dict[str, Decimal]:
        review: dict[str, Decimal] = info.data.get("review_above", {})
        problems = [
            f"LEDGER_SCREENING_REVIEW_ABOVE: {currency} {limit} is not below the decline limit "
            f"{decline[currency]}; nothing would ever be held for review"
            for currency, limit in review.items()
            if currency in decline and limit >= decline[currency]
        ]
        if problems:
            raise Problems(problems)
        return decline

    def amount_limits(self) -> AmountLimits:
        return AmountLimits(
            review_above=dict(self.review_above),
            decline_above=dict(self.decline_above),
            daily_limit=dict(self.daily_limit),
        )


def _blocklist(raw: str) -> tuple[str, ...]:
    return tuple(item.replace(" ", "").upper() for item in raw.split(",") if item.strip())


class FraudSettings(Section):
    """Score thresholds of the fraud model, the blocklist, the review deadline and the
    monitoring of the model's population (drift, analyst capacity)."""

    review_score: Annotated[Decimal, parsing.score()] = env(
        "LEDGER_FRAUD_REVIEW_SCORE",
        Decimal("0.5"),
        "a model score at or above this holds an outgoing payment for review",
    )
    decline_score: Annotated[Decimal, parsing.score()] = env(
        "LEDGER_FRAUD_DECLINE_SCORE",
        Decimal("0.9"),
        "a model score at or above this declines it",
        cross_check=True,
    )
    blocklist: Annotated[
        tuple[str, ...],
        BeforeValidator(lambda v: _blocklist(v) if isinstance(v, str) else v),
    ] = env(
        "LEDGER_FRAUD_BLOCKLIST",
        (),
        "comma-separated IBANs; a payment from or to one is declined",
    )
    review_deadline_minutes: Annotated[int, parsing.integer(1, 7 * 24 * 60)] = env(
        "LEDGER_FRAUD_REVIEW_DEADLINE_MINUTES",
        60,
        "a fraud case still undecided this long after its payment was held is escalated by "
        "the `fraud` role (once; `escalatedAt` in the queue)",
    )
    cases_per_day: Annotated[int | None, parsing.integer(1, 1_000_000)] = env(
        "LEDGER_FRAUD_CASES_PER_DAY",
        None,
        "the analysts' capacity: `ledger fraud thresholds` and the gauge "
        "`ledger_fraud_capacity_review_threshold` give the review score that would open about "
        "this many cases a day (advice: LEDGER_FRAUD_REVIEW_SCORE still decides)",
        shown="unset",
    )
    monitor_window_hours: Annotated[int, parsing.integer(1, 24 * 90)] = env(
        "LEDGER_FRAUD_MONITOR_WINDOW_HOURS",
        24,
        "the `fraud` role's drift gauges (PSI per feature and channel) cover the screenings "
        "of this many hours",
    )
    monitor_interval_seconds: Annotated[int, parsing.integer(10, 86_400)] = env(
        "LEDGER_FRAUD_MONITOR_INTERVAL_SECONDS",
        300,
        "how often the `fraud` role recomputes its drift gauges",
    )

    @field_validator("decline_score")
    @classmethod
    def _review_not_above(cls, decline: Decimal, info: ValidationInfo) -> Decimal:
        review = info.data.get("review_score")
        if review is not None and review > decline:
            raise Problems(["LEDGER_FRAUD_REVIEW_SCORE: must not be above the decline score"])
        return decline


class ReconciliationSettings(Section):
    """Where statements from core banking arrive."""

    inbox: Path | None = env(
        "LEDGER_RECONCILIATION_INBOX",
        None,
        "where core banking drops camt.053 statements for the reconciliation role (see "
        "[reconciliation.md](reconciliation.md))",
        shown="`<data dir>/reconciliation/inbox`",
    )
