"""TLS and several hosts to PostgreSQL, for the event store and the read models (issue 12,
item 9).

docs/operations.md prescribes ``LEDGER_DATABASE_URL=...?sslmode=verify-full``, but the URL's
query string used to be dropped: every connection ran with libpq's default ``prefer``, which
takes any certificate. Against a server of the test's own that accepts only TLS, with a
self-signed CA (tests/pg_tls_support.py): ``verify-full`` with the right CA opens the event
stores and the read models and a payment books and projects; a wrong CA, or a host name the
certificate does not name, is refused with a clear error; several hosts with
``target_session_attrs`` are accepted, the first being down.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from sqlalchemy import exc, text

from adapters.persistence import (
    DatabaseConfig,
    DatabaseUnreachable,
    event_store_env,
    read_model_engine,
)
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from application.ledger.app import LedgerApplication
from tests.builders import FakeClock, iban
from tests.e2e.conftest import SUPERUSER, client_as, open_account, pay, project
from tests.pg_tls_support import TlsPostgres, postgres_bindir, tls_postgres

pytestmark = pytest.mark.slow

SESSION = (
    "SELECT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl,"
    " inet_server_port() AS server_port"
)
"""Whether this session runs over TLS, and the port of the server it reached."""


@pytest.fixture(scope="session")
def tls_server() -> Iterator[TlsPostgres]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with tls_postgres(bindir) as server:
        yield server


@contextlib.contextmanager
def _port_nobody_listens_on() -> Iterator[int]:
    """A local port bound (so no one else takes it) but not listening: a connection to it is
    refused at once, as by a database host that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _config(url: str, tmp_path: Path) -> DatabaseConfig:
    return DatabaseConfig(data_dir=tmp_path / "var", url=url, schema=f"t_{uuid.uuid4().hex[:12]}")


def _container(url: str, tmp_path: Path) -> Container:
    return bootstrap(Settings().with_database(_config(url, tmp_path)), clock=FakeClock())


def _event_store_session(container: Container) -> dict[str, Any]:
    """TLS state and libpq parameters of a connection of the ledger's event store."""
    datastore = container.ledger.recorder.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as conn:
        row = conn.execute(SESSION)
        return {**row.fetchone(), **conn.info.get_parameters()}


def _read_model_session(container: Container) -> dict[str, Any]:
    with container.read_engine.connect() as conn:
        row = conn.execute(text(SESSION))
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)
        return {**row.one()._asdict(), **raw.info.get_parameters()}


def _book_and_project(container: Container) -> None:
    """A payment is booked (event store) and visible in the read models."""
    with client_as(container, SUPERUSER) as client:
        account = open_account(client)
        booked = pay(client, debtor=iban("NL"), creditor=account, amount="12.34", channel="SEPA")
        assert booked["status"] == "POSTED", booked
        project(container)
        shown = client.get(f"/v1/accounts/{account}")
        assert shown.status_code == 200, shown.text
        assert Decimal(shown.json()["balance"]["amount"]) == Decimal("12.34")


def test_verify_full_with_the_right_ca_books_and_projects_a_payment(
    tls_server: TlsPostgres, tmp_path: Path
) -> None:
    url = tls_server.url(sslmode="verify-full", sslrootcert=str(tls_server.ca))
    container = _container(url, tmp_path)
    try:
        for session in (_event_store_session(container), _read_model_session(container)):
            assert session["ssl"] is True
            assert session["sslmode"] == "verify-full"
            assert session["sslrootcert"] == str(tls_server.ca)
        _book_and_project(container)
    finally:
        container.close()


@pytest.mark.parametrize(
    ("host", "ca", "reason"),
    [
        ("localhost", "wrong_ca", "certificate verify failed"),
        ("127.0.0.1", "ca", 'does not match host name "127.0.0.1"'),  # the cert names localhost
    ],
)
def test_a_certificate_that_does_not_verify_is_refused_with_a_clear_error(
    tls_server: TlsPostgres,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    host: str,
    ca: str,
    reason: str,
) -> None:
    url = tls_server.url(
        f"{host}:{tls_server.port}", sslmode="verify-full", sslrootcert=str(getattr(tls_server, ca))
    )
    # the container: its first connection says what is wrong, not a pool timeout later
    with pytest.raises(DatabaseUnreachable) as refused:
        _container(url, tmp_path)
    assert reason in str(refused.value)
    assert f"{host}:{tls_server.port}/ledger_tls (sslmode=verify-full)" in str(refused.value)
    assert "p@ss" not in str(refused.value)
    # the read models on their own
    engine = read_model_engine(_config(url, tmp_path))
    try:
        with pytest.raises(exc.OperationalError, match=reason), engine.connect():
            pass
    finally:
        engine.dispose()
    # an event store on its own: its pool never gets a connection, and logs libpq's reason
    env = {**event_store_env(_config(url, tmp_path), "ledger"), "POSTGRES_CONNECT_TIMEOUT": "1"}
    with (
        caplog.at_level(logging.WARNING, logger="psycopg.pool"),
        pytest.raises(OperationalError, match="couldn't get a connection"),
    ):
        LedgerApplication(env=env)
    assert any(reason in record.getMessage() for record in caplog.records), caplog.text


def test_several_hosts_with_target_session_attrs_the_first_down(
    tls_server: TlsPostgres, tmp_path: Path
) -> None:
    with _port_nobody_listens_on() as dead_port:
        url = tls_server.url(
            f"localhost:{dead_port},localhost:{tls_server.port}",
            sslmode="verify-full",
            sslrootcert=str(tls_server.ca),
            target_session_attrs="read-write",
        )
        container = _container(url, tmp_path)
        try:
            for session in (_event_store_session(container), _read_model_session(container)):
                assert (session["ssl"], session["server_port"]) == (True, tls_server.port)
                assert session["target_session_attrs"] == "read-write"
            _book_and_project(container)
        finally:
            container.close()
