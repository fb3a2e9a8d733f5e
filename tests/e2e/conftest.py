"""End-to-end fixtures: the real app (REST + GraphQL) over the ``database`` fixture.

Every test gets a freshly bootstrapped container on SQLite and on PostgreSQL (a fresh schema),
a hand-moved clock, and a TestClient. The projector does not run in the background here:
tests call ``project(container)`` to bring the read models up to date, deterministically.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from adapters.persistence import DatabaseConfig
from api.http.app import create_app
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from api.security import ROLE_PERMISSIONS, Principal, PrincipalResolver
from tests.builders import FakeClock, iban, message


@pytest.fixture
def env(database: DatabaseConfig) -> dict[str, str]:
    """The ``LEDGER_*`` environment of the ``database`` fixture, for the CLI's ``main``."""
    values = {"LEDGER_DATA_DIR": str(database.data_dir)}
    if database.url:
        values["LEDGER_DATABASE_URL"] = database.url
    if database.schema:
        values["LEDGER_DATABASE_SCHEMA"] = database.schema
    return values


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI configures structlog and the root logger; undo that after the test."""
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database: DatabaseConfig) -> Settings:
    return Settings().with_database(database)


@pytest.fixture
def container(settings: Settings, clock: FakeClock) -> Iterator[Container]:
    built = bootstrap(settings, clock=clock)
    try:
        yield built
    finally:
        built.close()


SUPERUSER = Principal(name="user:dev", roles=frozenset(ROLE_PERMISSIONS), kind="user")
"""Every role, people's and services' alike: for tests about behaviour, not permissions
(no real token can carry both kinds; tests/e2e/test_authorization.py covers those)."""


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with client_as(container, SUPERUSER) as test_client:
        yield test_client


def client_as(container: Container, principal: Principal) -> TestClient:
    resolver: PrincipalResolver = lambda _request: principal  # noqa: E731
    return TestClient(create_app(container, principal_resolver=resolver))


CHECKER = Principal(name="user:checker", roles=frozenset({"admin"}))
"""A second person who approves what the development principal (``user:dev``) requests."""

APPROVE = """
mutation($id: ID!) { approveChangeRequest(id: $id) { id kind status outcome reason decidedBy } }
"""


def approve_as(container: Container, principal: Principal, request_id: str) -> dict[str, Any]:
    """Approve a change request as ``principal``; returns the request as it ended up."""
    with client_as(container, principal) as checker:
        approved: dict[str, Any] = gql(checker, APPROVE, {"id": request_id})["approveChangeRequest"]
    return approved


def change_account(
    client: TestClient,
    container: Container,
    account: str,
    reason: str = "fraud suspicion",
    *,
    unfreeze: bool = False,
    checker: Principal = CHECKER,
) -> dict[str, Any]:
    """Freeze (or unfreeze) ``account`` the maker-checker way: the client's principal asks,
    ``checker`` approves. Returns the approved request (status EXECUTED)."""
    field = "requestAccountUnfreeze" if unfreeze else "requestAccountFreeze"
    request = gql(
        client,
        f"mutation($id: String!, $reason: String!) {{ {field}(id: $id, reason: $reason) "
        "{ id status } }",
        {"id": account, "reason": reason},
    )[field]
    assert request["status"] == "PENDING", request
    approved = approve_as(container, checker, request["id"])
    assert approved["status"] == "EXECUTED", approved
    return approved


def project(container: Container) -> int:
    """Bring every read model up to the head of the event log."""
    return container.projector.catch_up()


def open_account(
    client: TestClient,
    account_iban: str | None = None,
    *,
    currency: str = "EUR",
    overdraft: str | None = None,
    holder: str = "Erika Mustermann",
) -> str:
    body: dict[str, Any] = {
        "iban": account_iban or iban("DE"),
        "holderName": holder,
        "currency": currency,
    }
    if overdraft is not None:
        body["overdraftLimit"] = overdraft
    response = client.post("/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def pay(client: TestClient, **kwargs: Any) -> dict[str, Any]:
    """Submit a payment over REST; returns the JSON body (asserting 202)."""
    response = client.post("/v1/transactions", json=message(**kwargs))
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def fund(client: TestClient, account_iban: str, amount: str, currency: str = "EUR") -> str:
    """Money in from outside (the clearing account pays); returns the transaction id."""
    body = pay(
        client,
        debtor=iban("NL"),
        creditor=account_iban,
        amount=amount,
        currency=currency,
        channel="SEPA",
    )
    assert body["status"] == "POSTED", body
    return str(body["transactionId"])


def gql(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    """Run a GraphQL operation that must succeed; returns ``data``."""
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def gql_errors(
    client: TestClient, query: str, variables: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run a GraphQL operation that must fail; returns its errors."""
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code in (200, 400), response.text
    errors: list[dict[str, Any]] = response.json().get("errors") or []
    assert errors, response.json()
    return errors
