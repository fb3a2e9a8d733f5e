"""Read-only mode (issue #19): what the secondary region runs against its standby.

The roles start on a database that refuses every write (here a session with
``default_transaction_read_only=on``, which refuses with the same SQLSTATE 25006 as a hot
standby; tests/integration/test_ha_cluster.py runs the api on a real standby): no DDL and no
write at start, reads are served, writes answer 503 ``DATABASE_READ_ONLY`` (REST) or the
code ``DATABASE_READ_ONLY`` (GraphQL), never a 500; ``/readyz`` says the database is
read-only and is ready only for the api role, whose job there is to serve reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from eventsourcing.persistence import OperationalError as StoreOperationalError
from fastapi.testclient import TestClient

from adapters.migration import record_migration
from adapters.persistence import DatabaseConfig
from api.cli.main import main
from api.http.app import create_app
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.roles import build_workers, role
from api.runtime.settings import Settings
from tests.builders import iban, message
from tests.e2e.conftest import SUPERUSER

pytestmark = pytest.mark.postgres

READ_ONLY_OPTIONS = "options=" + quote("-c default_transaction_read_only=on")


def read_only(database: DatabaseConfig) -> DatabaseConfig:
    """The same database through sessions that refuse every write."""
    assert database.url is not None
    separator = "&" if "?" in database.url else "?"
    return dataclasses.replace(database, url=f"{database.url}{separator}{READ_ONLY_OPTIONS}")


@pytest.fixture
def written(postgres_database: DatabaseConfig) -> Iterator[dict[str, Any]]:
    """A migrated database with an account, a payment into it and read models up to date;
    yields what was written."""
    container = bootstrap(Settings().with_database(postgres_database))  # `ledger migrate`
    try:
        record_migration(container.read_engine)
        with _client(container) as client:
            account_iban = iban("DE")
            opened = client.post(
                "/v1/accounts",
                json={"iban": account_iban, "holderName": "Erika Mustermann", "currency": "EUR"},
            )
            assert opened.status_code == 201, opened.text
            paid = client.post(
                "/v1/transactions",
                json=message(debtor=iban("NL"), creditor=account_iban, amount="12.50"),
            )
            assert paid.status_code == 202, paid.text
        container.projector.catch_up()
        head = container.heads()["ledger"]
        yield {"account": opened.json()["id"], "iban": account_iban, "head": head}
    finally:
        container.close()


def _client(container: Container, name: str = "all") -> TestClient:
    process = role(name)
    app = create_app(
        container,
        operations_only=not process.serves_api,
        vop_only=process.serves_vop and not process.serves_api,
        workers=build_workers(process, container),
        principal_resolver=lambda _request: SUPERUSER,
    )
    return TestClient(app)


def test_the_api_serves_reads_and_refuses_writes_clearly_on_a_read_only_database(
    postgres_database: DatabaseConfig, written: dict[str, Any]
) -> None:
    settings = Settings().with_database(read_only(postgres_database))
    container = bootstrap(settings, role="api", migrate=False)  # as `ledger serve` starts
    try:
        with _client(container, "api") as client:
            account = client.get(f"/v1/accounts/{written['account']}")
            assert account.status_code == 200, account.text
            assert account.json()["balance"]["amount"] == "12.50"
            listed = client.post(
                "/graphql", json={"query": "{ accounts(first: 5) { edges { node { iban } } } }"}
            )
            assert listed.status_code == 200 and not listed.json().get("errors"), listed.text

            opened = client.post(
                "/v1/accounts",
                json={"iban": iban("DE"), "holderName": "Max Mustermann", "currency": "EUR"},
            )
            assert opened.status_code == 503, opened.text
            assert opened.json()["code"] == "DATABASE_READ_ONLY"
            assert "read-only" in opened.json()["detail"]
            paid = client.post(
                "/v1/transactions",
                json=message(debtor=iban("NL"), creditor=written["iban"], amount="1.00"),
            )
            assert paid.status_code == 503, paid.text
            assert paid.json()["code"] == "DATABASE_READ_ONLY"

            mutation = client.post(
                "/graphql",
                json={
                    "query": "mutation($id: String!) { requestAccountFreeze(id: $id, "
                    'reason: "suspicion") { id } }',
                    "variables": {"id": written["account"]},
                },
            )
            errors = mutation.json()["errors"]
            assert [e["extensions"]["code"] for e in errors] == ["DATABASE_READ_ONLY"], errors

            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["database"] == "read-only"
        # Nothing was written: the logs end where they ended, the balance is what it was.
        assert container.heads()["ledger"] == written["head"]
        assert container.queries.account(written["account"]).balance == Decimal("12.50")
    finally:
        container.close()


WRITING_ROLES = ("vop", "fraud", "reconciliation", "notifications", "projector")


def test_the_other_roles_start_on_a_read_only_database_and_are_not_ready(
    postgres_database: DatabaseConfig, written: dict[str, Any]
) -> None:
    settings = Settings().with_database(read_only(postgres_database))
    for name in WRITING_ROLES:
        container = bootstrap(settings, role=name, migrate=False)  # no write at start
        try:
            with _client(container, name) as client:
                ready = client.get("/readyz")
                assert ready.json()["checks"]["database"] == "read-only", name
                # Each of these writes (checks, cases, statements, deliveries, read models):
                # none can do its job on a standby, so none takes traffic there.
                assert role(name).writes, name
                assert ready.status_code == 503, (name, ready.text)
        finally:
            container.close()


def test_readiness_says_the_database_is_writable_on_a_primary(
    postgres_database: DatabaseConfig, written: dict[str, Any]
) -> None:
    container = bootstrap(Settings().with_database(postgres_database), role="api", migrate=False)
    try:
        with _client(container, "api") as client:
            ready = client.get("/readyz").json()
            assert ready["checks"]["database"] == "ok"
            assert ready["checks"]["databaseStandby"] is False
    finally:
        container.close()


def test_ledger_audit_verify_runs_on_a_read_only_database(
    postgres_database: DatabaseConfig,
    written: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    """The runbook verifies the chain in the secondary region: no DDL there."""
    database = read_only(postgres_database)
    env = {
        "LEDGER_DATA_DIR": str(database.data_dir),
        "LEDGER_DATABASE_URL": str(database.url),
        "LEDGER_DATABASE_SCHEMA": str(database.schema),
    }
    code = main(["audit", "verify"], env)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "ledger: intact" in out.out
    code = main(["projections", "status"], env)  # the runbook's check of the read models
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "transactions" in out.out


def _refused_connection() -> psycopg.OperationalError:
    """The real error of a database out of reach (nothing listens on port 9 here)."""
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:9/x", connect_timeout=2).close()
    except psycopg.OperationalError as error:
        return error
    raise AssertionError("something answered on port 9")


def test_a_database_out_of_reach_answers_503_to_retry_not_500(
    postgres_database: DatabaseConfig, written: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The moments of a failover: the store gave up its retries (eventsourcing wraps the
    driver's error), REST says 503 DATABASE_UNAVAILABLE with Retry-After, GraphQL the code."""
    container = bootstrap(Settings().with_database(postgres_database), role="api", migrate=False)
    refused = _refused_connection()

    def out_of_reach(*_args: object, **_kwargs: object) -> None:
        raise StoreOperationalError(str(refused)) from refused

    monkeypatch.setattr(container.ledger, "submit_payment", out_of_reach)
    monkeypatch.setattr(container.queries, "accounts", out_of_reach)
    try:
        with _client(container, "api") as client:
            paid = client.post(
                "/v1/transactions",
                json=message(debtor=iban("NL"), creditor=written["iban"], amount="1.00"),
            )
            assert paid.status_code == 503, paid.text
            assert paid.json()["code"] == "DATABASE_UNAVAILABLE"
            assert paid.headers["Retry-After"] == "1"
            assert "127.0.0.1:9" not in paid.text  # the server's message stays in the log
            read = client.post(
                "/graphql",
                json={"query": "{ accounts(first: 5) { edges { node { iban } } } }"},
            )
            codes = [e["extensions"]["code"] for e in read.json()["errors"]]
            assert codes == ["DATABASE_UNAVAILABLE"], read.text
    finally:
        container.close()
