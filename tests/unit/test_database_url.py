"""``LEDGER_DATABASE_URL`` keeps every libpq parameter for the event store and the read models
(issue 12, item 9: the query string, ``sslmode=verify-full`` with it, used to be dropped).
tests/integration/test_database_tls.py shows the same against a real TLS server."""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.persistence import InfrastructureFactory
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import event

from adapters.persistence import DatabaseConfig, event_store_env, pg_params, read_model_engine
from adapters.pg_event_store import LIBPQ_PARAMS, LibpqPostgresFactory
from api.runtime.settings import Settings, SettingsError

URL = (
    "postgresql://ledger_app:s%40cret@db1.internal:5432,db2.internal:5433/ledger"
    "?sslmode=verify-full&sslrootcert=/etc/ssl/rds-ca.pem&sslcert=/etc/ssl/client.crt"
    "&sslkey=/etc/ssl/client.key&target_session_attrs=read-write&connect_timeout=3"
)
TLS = {
    "sslmode": "verify-full",
    "sslrootcert": "/etc/ssl/rds-ca.pem",
    "sslcert": "/etc/ssl/client.crt",
    "sslkey": "/etc/ssl/client.key",
    "target_session_attrs": "read-write",
    "connect_timeout": "3",
}


def test_every_libpq_parameter_of_the_url_is_kept() -> None:
    assert pg_params(URL) == {
        "host": "db1.internal,db2.internal",
        "port": "5432,5433",
        "user": "ledger_app",
        "password": "s@cret",
        "dbname": "ledger",
        **TLS,
    }


def test_defaults_when_the_url_says_little() -> None:
    assert pg_params("postgresql:///") == {
        "host": "127.0.0.1",
        "port": "5432",
        "user": "postgres",
        "dbname": "postgres",
        "connect_timeout": "10",
    }
    assert pg_params("postgresql+psycopg://u@h/db")["host"] == "h"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://h/db", "must be a postgresql:// URL"),
        ("postgresql://h/db?sslmod=verify-full", 'invalid URI query parameter: "sslmod"'),
    ],
)
def test_a_url_libpq_would_refuse_is_refused_naming_the_setting(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pg_params(url)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"LEDGER_DATABASE_URL": url})
    assert "LEDGER_DATABASE_URL" in str(refused.value)


def test_the_settings_summary_hides_passwords_in_the_query_too() -> None:
    settings = Settings.from_env({"LEDGER_DATABASE_URL": URL + "&sslpassword=keypass"})
    shown = settings.describe()["database"]
    assert "s%40cret" not in shown and "keypass" not in shown
    assert "sslmode=verify-full" in shown


def test_the_event_store_pool_connects_with_every_parameter(tmp_path: Path) -> None:
    env = event_store_env(DatabaseConfig(data_dir=tmp_path, url=URL), "ledger")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == (
        "db1.internal,db2.internal",
        "5432,5433",
    )
    assert conninfo_to_dict(env[LIBPQ_PARAMS]) == TLS
    factory = InfrastructureFactory.construct(env)  # builds the pool, does not open it
    try:
        assert isinstance(factory, LibpqPostgresFactory)
        kwargs = factory.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        assert {k: kwargs[k] for k in TLS} == TLS
        assert (kwargs["host"], kwargs["port"], kwargs["password"]) == (
            "db1.internal,db2.internal",
            "5432,5433",
            "s@cret",
        )
    finally:
        factory.close()


class _Captured(Exception):
    pass


def test_the_read_model_engine_connects_with_every_parameter(tmp_path: Path) -> None:
    url = URL + "&options=-cstatement_timeout%3D5000"
    engine = read_model_engine(DatabaseConfig(data_dir=tmp_path, url=url, schema="s1"))
    captured: dict[str, object] = {}

    @event.listens_for(engine, "do_connect")
    def _capture(
        _dialect: object, _record: object, cargs: list[object], cparams: dict[str, object]
    ) -> None:
        captured.update(cparams, cargs=list(cargs))
        raise _Captured  # what psycopg.connect would be called with; no network

    try:
        with pytest.raises(_Captured), engine.connect():
            pass
    finally:
        engine.dispose()
    assert {k: captured[k] for k in TLS} == TLS
    assert (captured["host"], captured["port"], captured["password"]) == (
        "db1.internal,db2.internal",
        "5432,5433",
        "s@cret",
    )
    assert captured["options"] == "-cstatement_timeout=5000 -csearch_path=s1"
