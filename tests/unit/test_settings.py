"""Settings from the environment: defaults, every variable, and clear errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.auth.config import AuthConfig
from adapters.persistence import DatabaseConfig
from api.runtime.settings import Settings, SettingsError


def test_defaults_suit_a_laptop() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.database.url is None
    assert settings.database_config().is_postgres is False
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8000)
    assert settings.env == "development"
    assert not settings.is_production
    assert settings.log_level == "INFO"
    assert settings.projections.batch_size == 500
    assert settings.projections.poll_interval == 0.2
    assert settings.database.pool_size == 5
    assert settings.graphql.max_depth == 12
    assert settings.graphql.max_tokens == 2000
    assert settings.graphql.max_aliases == 15
    assert settings.http.rate_limit_per_second == 50.0
    assert settings.http.rate_limit_burst == 100
    assert settings.http.rate_limited
    assert settings.http.max_body_bytes == 1024 * 1024
    limits = settings.ledger.amount_limits()
    assert limits.review_above["EUR"] == Decimal(10000)
    assert limits.decline_above["EUR"] == Decimal(50000)
    assert limits.daily_limit["EUR"] == Decimal(100000)
    for currency in ("PLN", "SEK", "USD"):
        assert currency in limits.review_above
        assert limits.review_above[currency] < limits.decline_above[currency]
    assert Settings() == settings


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "LEDGER_DATA_DIR": "/srv/ledger",
            "LEDGER_DATABASE_URL": "postgresql://ledger:s3cret@db:5433/ledger",
            "LEDGER_DATABASE_SCHEMA": "tenant_1",
            "LEDGER_HOST": "0.0.0.0",
            "LEDGER_PORT": "9000",
            "LEDGER_ENV": "Production",
            "LEDGER_LOG_LEVEL": "debug",
            "LEDGER_SCREENING_REVIEW_ABOVE": "eur:100, USD:200",
            "LEDGER_SCREENING_DECLINE_ABOVE": "EUR:1000",
            "LEDGER_SCREENING_DAILY_LIMIT": "EUR:5000.50",
            "LEDGER_PROJECTOR_BATCH_SIZE": "50",
            "LEDGER_PROJECTOR_POLL_INTERVAL": "0.05",
            "LEDGER_DB_POOL_SIZE": "12",
            "LEDGER_READY_MAX_LAG": "7",
            "LEDGER_AUTH_ISSUER": "https://idp.example.com/realms/backoffice",
            "LEDGER_AUTH_AUDIENCE": "ledger-api",
            "LEDGER_AUTH_JWKS_URL": "https://idp.example.com/realms/backoffice/certs",
            "LEDGER_AUTH_ALGORITHMS": "es256",
            "LEDGER_AUTH_LEEWAY_SECONDS": "10",
            "LEDGER_METRICS_PUBLIC": "false",
            "LEDGER_GRAPHQL_MAX_DEPTH": "8",
            "LEDGER_GRAPHQL_MAX_TOKENS": "500",
            "LEDGER_GRAPHQL_MAX_ALIASES": "3",
            "LEDGER_RATE_LIMIT_PER_SECOND": "2.5",
            "LEDGER_RATE_LIMIT_BURST": "10",
            "LEDGER_MAX_BODY_BYTES": "65536",
        }
    )
    assert settings.data_dir == Path("/srv/ledger")
    database = settings.database_config()
    assert database == DatabaseConfig(
        data_dir=Path("/srv/ledger"),
        url="postgresql://ledger:s3cret@db:5433/ledger",
        schema="tenant_1",
        pool_size=12,
    )
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 9000)
    assert settings.is_production
    assert settings.log_level == "DEBUG"
    assert settings.ledger.review_above == {"EUR": Decimal(100), "USD": Decimal(200)}
    assert settings.ledger.decline_above == {"EUR": Decimal(1000)}
    assert settings.ledger.daily_limit == {"EUR": Decimal("5000.50")}
    assert settings.projections.batch_size == 50
    assert settings.projections.poll_interval == 0.05
    assert settings.projections.ready_max_lag == 7
    assert (settings.graphql.max_depth, settings.graphql.max_tokens) == (8, 500)
    assert settings.graphql.max_aliases == 3
    assert (settings.http.rate_limit_per_second, settings.http.rate_limit_burst) == (2.5, 10)
    assert settings.http.max_body_bytes == 65536
    assert "s3cret" not in str(settings.describe())
    assert "***" in settings.describe()["database"]
    assert settings.auth == AuthConfig(
        issuer="https://idp.example.com/realms/backoffice",
        audience="ledger-api",
        jwks_url="https://idp.example.com/realms/backoffice/certs",
        algorithms=("ES256",),
        leeway_seconds=10,
        metrics_public=False,
        max_token_lifetime_minutes=60,  # the production default
    )


def test_none_disables_a_limit() -> None:
    settings = Settings.from_env({"LEDGER_SCREENING_REVIEW_ABOVE": "none"})
    assert settings.ledger.review_above == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEDGER_PORT", "http", "LEDGER_PORT: must be an integer"),
        ("LEDGER_PORT", "70000", "LEDGER_PORT: must be between 1 and 65535"),
        ("LEDGER_ENV", "staging", "LEDGER_ENV: must be development or production"),
        ("LEDGER_LOG_LEVEL", "LOUD", "LEDGER_LOG_LEVEL: must be one of"),
        ("LEDGER_DATABASE_URL", "mysql://x/y", "LEDGER_DATABASE_URL: must be a postgresql://"),
        ("LEDGER_DATABASE_SCHEMA", "x", "only applies with LEDGER_DATABASE_URL"),
        ("LEDGER_SCREENING_REVIEW_ABOVE", "EUR=100", "must look like CCY:AMOUNT"),
        ("LEDGER_SCREENING_REVIEW_ABOVE", "EUR:ten", "is not a decimal amount"),
        ("LEDGER_SCREENING_DECLINE_ABOVE", "QQQ:10", "unknown ISO 4217 currency 'QQQ'"),
        ("LEDGER_SCREENING_DAILY_LIMIT", "EUR:0", "must be greater than zero"),
        ("LEDGER_SCREENING_DAILY_LIMIT", "EUR:1,EUR:2", "EUR is given twice"),
        ("LEDGER_PROJECTOR_BATCH_SIZE", "0", "LEDGER_PROJECTOR_BATCH_SIZE: must be at least 1"),
        ("LEDGER_PROJECTOR_POLL_INTERVAL", "soon", "must be a number of seconds"),
        ("LEDGER_PROJECTOR_POLL_INTERVAL", "0", "must be > 0"),
        ("LEDGER_DB_POOL_SIZE", "-1", "LEDGER_DB_POOL_SIZE: must be between 1 and 200"),
        ("LEDGER_GRAPHQL_MAX_DEPTH", "0", "LEDGER_GRAPHQL_MAX_DEPTH: must be between 1 and 100"),
        ("LEDGER_GRAPHQL_MAX_DEPTH", "deep", "LEDGER_GRAPHQL_MAX_DEPTH: must be an integer"),
        ("LEDGER_GRAPHQL_MAX_TOKENS", "10", "LEDGER_GRAPHQL_MAX_TOKENS: must be at least 100"),
        ("LEDGER_GRAPHQL_MAX_ALIASES", "-1", "LEDGER_GRAPHQL_MAX_ALIASES: must be at least 0"),
        ("LEDGER_RATE_LIMIT_PER_SECOND", "fast", "LEDGER_RATE_LIMIT_PER_SECOND: must be a number"),
        ("LEDGER_RATE_LIMIT_PER_SECOND", "-1", "LEDGER_RATE_LIMIT_PER_SECOND: must be 0 (no"),
        ("LEDGER_RATE_LIMIT_PER_SECOND", "inf", "LEDGER_RATE_LIMIT_PER_SECOND: must be 0 (no"),
        ("LEDGER_RATE_LIMIT_PER_SECOND", "nan", "LEDGER_RATE_LIMIT_PER_SECOND: must be 0 (no"),
        ("LEDGER_RATE_LIMIT_BURST", "1.5", "LEDGER_RATE_LIMIT_BURST: must be an integer"),
        ("LEDGER_RATE_LIMIT_BURST", "-5", "LEDGER_RATE_LIMIT_BURST: must be at least 0"),
        ("LEDGER_MAX_BODY_BYTES", "1MB", "LEDGER_MAX_BODY_BYTES: must be an integer"),
        ("LEDGER_MAX_BODY_BYTES", "100", "LEDGER_MAX_BODY_BYTES: must be at least 1024"),
    ],
)
def test_invalid_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: value})
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("rate", "burst"), [("0", "100"), ("50", "0"), ("0", "0")], ids=["rate", "burst", "both"]
)
def test_zero_turns_the_rate_limit_off(rate: str, burst: str) -> None:
    settings = Settings.from_env(
        {"LEDGER_RATE_LIMIT_PER_SECOND": rate, "LEDGER_RATE_LIMIT_BURST": burst}
    )
    assert not settings.http.rate_limited


def test_every_hardening_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {
                "LEDGER_GRAPHQL_MAX_DEPTH": "0",
                "LEDGER_GRAPHQL_MAX_TOKENS": "x",
                "LEDGER_GRAPHQL_MAX_ALIASES": "-1",
                "LEDGER_RATE_LIMIT_PER_SECOND": "-1",
                "LEDGER_RATE_LIMIT_BURST": "y",
                "LEDGER_MAX_BODY_BYTES": "0",
            }
        )
    named = [problem.split(":", 1)[0] for problem in raised.value.problems]
    assert named == [
        "LEDGER_GRAPHQL_MAX_DEPTH",
        "LEDGER_GRAPHQL_MAX_TOKENS",
        "LEDGER_GRAPHQL_MAX_ALIASES",
        "LEDGER_RATE_LIMIT_PER_SECOND",
        "LEDGER_RATE_LIMIT_BURST",
        "LEDGER_MAX_BODY_BYTES",
    ]


def test_a_bad_schema_name_is_refused() -> None:
    with pytest.raises(SettingsError, match="plain SQL identifier"):
        Settings.from_env(
            {"LEDGER_DATABASE_URL": "postgresql://localhost/db", "LEDGER_DATABASE_SCHEMA": 'a"b'}
        )


def test_review_limit_must_be_below_decline_limit() -> None:
    with pytest.raises(SettingsError, match="not below the decline limit"):
        Settings.from_env(
            {
                "LEDGER_SCREENING_REVIEW_ABOVE": "EUR:5000",
                "LEDGER_SCREENING_DECLINE_ABOVE": "EUR:5000",
            }
        )


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LEDGER_PORT": "x", "LEDGER_ENV": "y", "LEDGER_DB_POOL_SIZE": "z"})
    assert len(raised.value.problems) == 3


def test_with_database_points_settings_at_a_store(tmp_path: Path) -> None:
    database = DatabaseConfig(data_dir=tmp_path, url="postgresql://h/d", schema="s", pool_size=3)
    assert Settings().with_database(database).database_config() == database


def test_reading_settings_opens_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-yet"
    Settings.from_env({"LEDGER_DATA_DIR": str(data_dir)})
    assert not data_dir.exists()


def test_production_needs_an_identity_provider() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LEDGER_ENV": "production"})
    problems = "\n".join(raised.value.problems)
    assert "LEDGER_AUTH_ISSUER: required in production" in problems
    assert "LEDGER_AUTH_JWKS_URL (or LEDGER_AUTH_JWKS_FILE): required in production" in problems


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"LEDGER_AUTH_ALGORITHMS": "HS256"}, "LEDGER_AUTH_ALGORITHMS: only asymmetric"),
        ({"LEDGER_AUTH_ALGORITHMS": "none"}, "LEDGER_AUTH_ALGORITHMS: only asymmetric"),
        ({"LEDGER_AUTH_LEEWAY_SECONDS": "3600"}, "LEDGER_AUTH_LEEWAY_SECONDS"),
        ({"LEDGER_METRICS_PUBLIC": "maybe"}, "LEDGER_METRICS_PUBLIC"),
        ({"LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES": "0"}, "LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES"),
        (
            {"LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES": "1h"},
            "LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES",
        ),
        (
            {"LEDGER_AUTH_JWKS_URL": "https://x/certs", "LEDGER_AUTH_JWKS_FILE": "/k.json"},
            "set one, not both",
        ),
        (
            {
                "LEDGER_ENV": "production",
                "LEDGER_AUTH_ISSUER": "https://idp",
                "LEDGER_AUTH_JWKS_URL": "http://idp/certs",
            },
            "LEDGER_AUTH_JWKS_URL: must be an https URL",
        ),
    ],
)
def test_auth_settings_are_validated(variables: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(variables)
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_development_trusts_the_local_issuer_by_default() -> None:
    auth = Settings.from_env({}).auth
    assert auth.uses_local_issuer
    assert auth.issuer == "backoffice-ledger-local"
    assert auth.audience == "backoffice-ledger"
    assert auth.max_token_lifetime_minutes is None  # `ledger token --ttl 8h` stays usable


def test_token_lifetime_is_capped_in_production_and_configurable() -> None:
    idp = {
        "LEDGER_ENV": "production",
        "LEDGER_AUTH_ISSUER": "https://idp",
        "LEDGER_AUTH_JWKS_URL": "https://idp/certs",
    }
    assert Settings.from_env(idp).auth.max_token_lifetime_minutes == 60
    given = {**idp, "LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES": "15"}
    assert Settings.from_env(given).auth.max_token_lifetime_minutes == 15
    development = {"LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES": "30"}
    assert Settings.from_env(development).auth.max_token_lifetime_minutes == 30


def test_maker_checker_settings() -> None:
    defaults = Settings.from_env({})
    assert defaults.ledger.approval_ttl_hours == 24
    assert defaults.ledger.reversal_approval_above["EUR"] == Decimal("10000")
    assert defaults.ledger.reversal_approval_above["SEK"] == Decimal("100000")
    given = Settings.from_env(
        {"LEDGER_REVERSAL_APPROVAL_ABOVE": "eur:500", "LEDGER_APPROVAL_TTL_HOURS": "4"}
    )
    assert (given.ledger.reversal_approval_above, given.ledger.approval_ttl_hours) == (
        {"EUR": Decimal(500)},
        4,
    )
    with pytest.raises(SettingsError, match="LEDGER_APPROVAL_TTL_HOURS"):
        Settings.from_env({"LEDGER_APPROVAL_TTL_HOURS": "0"})
    with pytest.raises(SettingsError, match="LEDGER_REVERSAL_APPROVAL_ABOVE"):
        Settings.from_env({"LEDGER_REVERSAL_APPROVAL_ABOVE": "EUR=5"})


def test_overdraft_ceiling_settings() -> None:
    assert Settings.from_env({}).ledger.overdraft_approval_above["EUR"] == Decimal("10000")
    given = Settings.from_env({"LEDGER_OVERDRAFT_APPROVAL_ABOVE": "chf:2500"})
    assert given.ledger.overdraft_approval_above == {"CHF": Decimal(2500)}
    with pytest.raises(SettingsError, match="LEDGER_OVERDRAFT_APPROVAL_ABOVE"):
        Settings.from_env({"LEDGER_OVERDRAFT_APPROVAL_ABOVE": "EUR:-1"})


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "LEDGER_DATABASE_URL": "postgresql://u:dbpass@h/d",
            "LEDGER_STOMP_URL": "stomp://u:mqpass@h:61613",
            "LEDGER_SMTP_URL": "smtp://u:mailpass@h",
            "LEDGER_NOTIFY_WEBHOOK_SECRET": "hook-secret-0123456789",
        }
    )
    for secret in ("dbpass", "mqpass", "mailpass", "hook-secret"):
        assert secret not in repr(settings)
        assert secret not in str(settings)


def test_defaults_never_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_PORT", "9001")
    assert Settings().http.port == 8000
    assert Settings.from_env().http.port == 9001


def test_updated_changes_fields_of_a_section_or_the_settings() -> None:
    base = Settings()
    changed = base.updated(http={"max_body_bytes": 2048}, env="production")
    assert (changed.http.max_body_bytes, changed.http.port, changed.env) == (
        2048,
        8000,
        "production",
    )
    assert base.http.max_body_bytes == 1024 * 1024


def test_broker_variables_are_read_only_with_a_broker() -> None:
    assert Settings.from_env({"LEDGER_INGEST_BATCH_SIZE": "x"}).stomp is None
    with pytest.raises(SettingsError, match="LEDGER_INGEST_BATCH_SIZE: must be an integer"):
        Settings.from_env({"LEDGER_STOMP_URL": "stomp://h", "LEDGER_INGEST_BATCH_SIZE": "x"})


def test_a_cross_check_on_a_default_names_the_variable() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LEDGER_NOTIFY_RETRY_BASE_SECONDS": "7200"})
    assert "LEDGER_NOTIFY_RETRY_MAX_SECONDS: must not be below the retry base" in str(raised.value)


def test_an_unknown_or_old_flat_name_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="database_url"):
        Settings(database_url="postgresql://x@h/db")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_body_byte"):
        Settings().updated(http={"max_body_byte": 2048})


def test_partition_lease_settings() -> None:
    assert Settings().partitions.model_dump() == {
        "ingestion": True,
        "write_log": False,
        "partitions": 64,
        "lease_ttl": 10.0,
        "heartbeat_interval": 2.0,
    }
    settings = Settings.from_env(
        {
            "LEDGER_PARTITIONS": "128",
            "LEDGER_PARTITION_LEASE_TTL": "4",
            "LEDGER_PARTITION_HEARTBEAT_INTERVAL": "0.5",
            "LEDGER_PARTITIONED_INGESTION": "OFF",
        }
    )
    assert settings.partitions.ingestion is False
    # the other fields are PartitionLeases' keyword arguments
    assert settings.partitions.lease_options() == {
        "partitions": 128,
        "lease_ttl": 4.0,
        "heartbeat_interval": 0.5,
    }
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {
                "LEDGER_PARTITIONS": "0",
                "LEDGER_PARTITION_LEASE_TTL": "3",
                "LEDGER_PARTITIONED_INGESTION": "maybe",
            }
        )
    assert raised.value.problems == [
        "LEDGER_PARTITIONED_INGESTION: must be on or off, got 'maybe'",
        "LEDGER_PARTITIONS: must be between 1 and 4096, got 0",
        "LEDGER_PARTITION_HEARTBEAT_INTERVAL: must be at most half of "
        "LEDGER_PARTITION_LEASE_TTL (3), got 2",
    ]
