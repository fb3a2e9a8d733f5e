"""Settings: read once from the environment at startup, validated, then passed around.

Nothing reads the environment at import time: :meth:`Settings.from_env` is called by the
CLI (or a test) and the resulting object travels through :func:`api.runtime.bootstrap.bootstrap`.
Every problem found is reported at once in a :class:`SettingsError`, naming the variable.

The settings are pydantic-settings models, one section per concern (``settings.database``,
``settings.http``, ``settings.graphql``, ``settings.fraud`` ...); each field is one
``LEDGER_*`` variable, named by its alias, and docs/configuration.md is generated from them
(``python scripts/gen-configuration-doc.py``). ``Settings()`` is the defaults: it never reads
the process environment, so tests start from the same settings everywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, InstanceOf

from adapters.auth.config import AuthConfig
from adapters.messaging.config import StompConfig
from adapters.persistence import DatabaseConfig
from api.runtime.settings import parsing
from api.runtime.settings.auth import AuthSettings
from api.runtime.settings.base import (
    Problems,
    Reading,
    Section,
    SettingsError,
    reading_with,
)
from api.runtime.settings.base import (
    env as variable,
)
from api.runtime.settings.notifications import (
    DEFAULT_NOTIFY_MAX_ATTEMPTS,
    DEFAULT_NOTIFY_RETRY_BASE_SECONDS,
    DEFAULT_NOTIFY_RETRY_MAX_SECONDS,
    DEFAULT_NOTIFY_TIMEOUT_SECONDS,
    MIN_WEBHOOK_SECRET,
    NotificationSettings,
)
from api.runtime.settings.partitions import PartitionSettings
from api.runtime.settings.sections import (
    DEFAULT_APPROVAL_TTL_HOURS,
    DEFAULT_DAILY_LIMIT,
    DEFAULT_DECLINE_ABOVE,
    DEFAULT_GRAPHQL_MAX_ALIASES,
    DEFAULT_GRAPHQL_MAX_DEPTH,
    DEFAULT_GRAPHQL_MAX_TOKENS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_OVERDRAFT_APPROVAL_ABOVE,
    DEFAULT_RATE_LIMIT_BURST,
    DEFAULT_RATE_LIMIT_PER_SECOND,
    DEFAULT_REVERSAL_APPROVAL_ABOVE,
    DEFAULT_REVIEW_ABOVE,
    DatabaseSettings,
    FraudSettings,
    GraphQLSettings,
    HttpSettings,
    LedgerSettings,
    ProjectionSettings,
    ReconciliationSettings,
)
from api.runtime.settings.stomp import StompSettings
from api.runtime.settings.vop import VopSettings

__all__ = [
    "DEFAULT_APPROVAL_TTL_HOURS",
    "DEFAULT_DAILY_LIMIT",
    "DEFAULT_DECLINE_ABOVE",
    "DEFAULT_GRAPHQL_MAX_ALIASES",
    "DEFAULT_GRAPHQL_MAX_DEPTH",
    "DEFAULT_GRAPHQL_MAX_TOKENS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_NOTIFY_MAX_ATTEMPTS",
    "DEFAULT_NOTIFY_RETRY_BASE_SECONDS",
    "DEFAULT_NOTIFY_RETRY_MAX_SECONDS",
    "DEFAULT_NOTIFY_TIMEOUT_SECONDS",
    "DEFAULT_OVERDRAFT_APPROVAL_ABOVE",
    "DEFAULT_RATE_LIMIT_BURST",
    "DEFAULT_RATE_LIMIT_PER_SECOND",
    "DEFAULT_REVERSAL_APPROVAL_ABOVE",
    "DEFAULT_REVIEW_ABOVE",
    "ENVIRONMENTS",
    "LOG_LEVELS",
    "MIN_WEBHOOK_SECRET",
    "READERS",
    "AuthSettings",
    "DatabaseSettings",
    "Environment",
    "FraudSettings",
    "GraphQLSettings",
    "HttpSettings",
    "LedgerSettings",
    "NotificationSettings",
    "PartitionSettings",
    "ProjectionSettings",
    "ReconciliationSettings",
    "Settings",
    "SettingsError",
    "StompSettings",
    "VopSettings",
]

Environment = Literal["development", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(Section):
    """Everything the process is configured with. Defaults suit a laptop.

    Copy with changes: ``settings.updated(http={"max_body_bytes": 2048}, env="production")``
    (a dict updates fields of that section; anything else replaces the field)."""

    data_dir: Path = variable(
        "LEDGER_DATA_DIR",
        Path("var"),
        "SQLite files (`ledger-events.sqlite`, `read-models.sqlite`), the local issuer's keys, "
        "fraud models",
        shown="`./var`",
    )
    env: Annotated[
        Environment,
        parsing.choice(ENVIRONMENTS, "must be development or production, got {value!r}"),
    ] = variable(
        "LEDGER_ENV",
        "development",
        "`production` turns GraphiQL, GraphQL introspection and GraphQL over GET off, and "
        "requires an identity provider",
    )
    log_level: Annotated[
        str, parsing.choice(LOG_LEVELS, f"must be one of {', '.join(LOG_LEVELS)}", upper=True)
    ] = variable(
        "LEDGER_LOG_LEVEL",
        "INFO",
        "`DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`; `DEBUG` also shows CLI tracebacks",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    projections: ProjectionSettings = Field(default_factory=ProjectionSettings)
    graphql: GraphQLSettings = Field(default_factory=GraphQLSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    auth: InstanceOf[AuthConfig] = Field(default_factory=AuthConfig)
    """Who may call the API: token issuer, audience and keys (``LEDGER_AUTH_*``)."""
    stomp: InstanceOf[StompConfig] | None = Field(None, repr=False)
    """The broker to ingest from (``LEDGER_STOMP_URL``); None: no message-queue ingestion."""
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    reconciliation: ReconciliationSettings = Field(default_factory=ReconciliationSettings)
    partitions: PartitionSettings = Field(default_factory=PartitionSettings)
    vop: VopSettings = Field(default_factory=VopSettings)

    # -- derived -------------------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def reconciliation_inbox_dir(self) -> Path:
        """The statement inbox: ``LEDGER_RECONCILIATION_INBOX`` or under the data directory."""
        if self.reconciliation.inbox is not None:
            return self.reconciliation.inbox
        return self.data_dir / "reconciliation" / "inbox"

    def database_config(self) -> DatabaseConfig:
        return self.database.config(self.data_dir)

    def with_database(self, database: DatabaseConfig) -> Settings:
        """These settings pointed at ``database`` (tests use this with their fixtures)."""
        section = self.database.model_copy(
            update={
                "url": database.url,
                "schema_name": database.schema,
                "pool_size": database.pool_size,
            }
        )
        return self.model_copy(update={"data_dir": database.data_dir, "database": section})

    def updated(self, **changes: Any) -> Settings:
        """A copy with ``changes``: ``section={"field": value}`` changes fields of a section,
        ``field=value`` replaces a field (the stand-in for ``dataclasses.replace``)."""
        update: dict[str, Any] = {}
        for name, value in changes.items():
            current = getattr(self, name)
            if isinstance(value, Mapping) and isinstance(current, Section):
                unknown = set(value) - set(type(current).model_fields)
                if unknown:
                    raise ValueError(f"{name}: no such settings {sorted(unknown)}")
                value = current.model_copy(update=dict(value))
            update[name] = value
        return self.model_copy(update=update)

    def describe(self) -> dict[str, Any]:
        """The settings for a startup log line; the database password is hidden."""
        url = self.database.url
        return {
            "data_dir": str(self.data_dir),
            "database": _hide_password(url) if url else "sqlite",
            "schema": self.database.schema_name,
            "host": self.http.host,
            "port": self.http.port,
            "env": self.env,
            "broker": self.stomp.describe()["broker"] if self.stomp else None,
            "notification_rules": self.notifications.rules.source,
            "notification_rules_active": len(self.notifications.rules.active),
            "smtp": self.notifications.smtp.describe() if self.notifications.smtp else None,
            "reconciliation_inbox": str(self.reconciliation_inbox_dir),
        }

    # -- parsing -------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``LEDGER_*`` variable; raise :class:`SettingsError` listing all problems."""
        given = os.environ if environ is None else environ
        facts = Reading(
            production=given.get("LEDGER_ENV", "").strip().lower() == "production",
            stomp_configured=bool(given.get("LEDGER_STOMP_URL", "").strip()),
        )
        problems: list[str] = []
        sections: dict[str, Any] = {}
        with reading_with(facts):
            for name, reader in SECTIONS.items():
                if name == "stomp" and not facts.stomp_configured:
                    continue
                try:
                    sections[name] = reader.read(given)
                except Problems as error:
                    problems.extend(error.problems)
            try:
                settings = cls.read(given, **_built(sections, facts))
            except Problems as error:
                problems[:0] = error.problems
        if problems:
            raise SettingsError(problems)
        return settings


SECTIONS: dict[str, type[Section]] = {
    "database": DatabaseSettings,
    "projections": ProjectionSettings,
    "ledger": LedgerSettings,
    "fraud": FraudSettings,
    "auth": AuthSettings,
    "graphql": GraphQLSettings,
    "http": HttpSettings,
    "stomp": StompSettings,
    "notifications": NotificationSettings,
    "reconciliation": ReconciliationSettings,
    "partitions": PartitionSettings,
    "vop": VopSettings,
}
"""The sections ``from_env`` reads, in the order their problems are reported."""

READERS: tuple[type[Section], ...] = (Settings, *SECTIONS.values())
"""Every class that reads variables: docs/configuration.md lists their fields."""


def _built(sections: dict[str, Any], facts: Reading) -> dict[str, Any]:
    """The sections as :class:`Settings` holds them (auth and stomp as adapter configs)."""
    built = dict(sections)
    if "auth" in built:
        built["auth"] = built["auth"].config(production=facts.production)
    if "stomp" in built:
        built["stomp"] = built["stomp"].config()
    return built


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    query = re.sub(r"(?i)((?:^|&)(?:ssl)?password=)[^&]*", r"\1***", parts.query)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc, query=query).geturl()
