"""Overdraft limits above the ceiling need a second person (issue #12, item 8).

The penetration test opened an account with an overdraft of 999,999,999,999,999,999.99 as a
lone operator and paid it out. Now: an absurd limit is refused outright (422 naming the
field); a limit above ``LEDGER_OVERDRAFT_APPROVAL_ABOVE`` is refused at opening (409 /
APPROVAL_REQUIRED) and takes effect only through a SET_OVERDRAFT_LIMIT request that someone
else approves; a currency without a ceiling allows no overdraft without approval.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import Principal
from tests.builders import iban
from tests.e2e.conftest import client_as, fund, gql, gql_errors, project

OLGA = Principal("user:olga", frozenset({"operator"}))
OTTO = Principal("user:otto", frozenset({"operator"}))
CARL = Principal("user:carl", frozenset({"compliance"}))
VIC = Principal("user:vic", frozenset({"viewer"}))

OPEN = """
mutation($iban: String!, $currency: String!, $limit: String) {
  openAccount(iban: $iban, holderName: "Max", currency: $currency, overdraftLimit: $limit) {
    id overdraftLimit { amount currency } } }
"""
REQUEST = """
mutation($id: String!, $limit: String!, $reason: String!) {
  requestOverdraftLimit(id: $id, limit: $limit, reason: $reason) {
    id kind subject params status } }
"""
APPROVE = "mutation($id: ID!) { approveChangeRequest(id: $id) { status outcome decidedBy } }"
ABSURD = "999999999999999999.99"
SERIAL = itertools.count(1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.updated(ledger={"overdraft_approval_above": {"EUR": Decimal("1000.00")}})


def rest_open(client: TestClient, limit: str, currency: str = "EUR") -> Any:
    body = {"iban": iban("DE"), "holderName": "Max", "currency": currency}
    return client.post("/v1/accounts", json={**body, "overdraftLimit": limit})


def payout(client: TestClient, account: str, amount: str) -> dict[str, Any]:
    response = client.post(
        "/v1/transactions",
        json={
            "externalId": f"OUT-{account}-{next(SERIAL)}",
            "channel": "SEPA",
            "debtor": {"iban": account, "name": "Max"},
            "creditor": {"iban": iban("FR"), "name": "Mallory"},
            "amount": amount,
            "currency": "EUR",
        },
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_absurd_overdraft_is_refused_outright(client: TestClient, container: Container) -> None:
    with client_as(container, OLGA) as olga:
        response = rest_open(olga, ABSURD)
        assert response.status_code == 422, response.text
        assert "overdraftLimit" in response.json()["detail"]
        assert "12 integer digits" in response.json()["detail"]
        errors = gql_errors(olga, OPEN, {"iban": iban("DE"), "currency": "EUR", "limit": ABSURD})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "overdraftLimit" in errors[0]["message"]


def test_an_operator_alone_cannot_open_an_overdraft_above_the_ceiling(
    client: TestClient, container: Container
) -> None:
    with client_as(container, OLGA) as olga:
        refused = rest_open(olga, "1000.01")
        assert refused.status_code == 409, refused.text
        assert "needs a second person's approval (above 1000.00 EUR)" in refused.json()["detail"]
        wanted = iban("DE")
        errors = gql_errors(olga, OPEN, {"iban": wanted, "currency": "EUR", "limit": "5000"})
        assert errors[0]["extensions"]["code"] == "APPROVAL_REQUIRED"
        assert "requestOverdraftLimit" in errors[0]["message"]
        assert olga.get(f"/v1/accounts/{wanted}").status_code == 404
        at_ceiling = rest_open(olga, "1000.00")
        assert at_ceiling.status_code == 201, at_ceiling.text
        assert at_ceiling.json()["overdraftLimit"] == {"amount": "1000.00", "currency": "EUR"}


def test_a_currency_without_a_ceiling_allows_no_overdraft_without_approval(
    client: TestClient, container: Container
) -> None:
    with client_as(container, OLGA) as olga:
        refused = rest_open(olga, "1", currency="NOK")
        assert refused.status_code == 409, refused.text
        assert "no overdraft ceiling is configured for NOK" in refused.json()["detail"]
        assert rest_open(olga, "0", currency="NOK").status_code == 201


def test_a_higher_overdraft_takes_effect_only_when_a_second_person_approves(
    client: TestClient, container: Container
) -> None:
    with client_as(container, OLGA) as olga:
        account = rest_open(olga, "0").json()["id"]
        fund(client, account, "100.00")
        request = gql(
            olga, REQUEST, {"id": account, "limit": "5000", "reason": "credit line approved"}
        )["requestOverdraftLimit"]
        assert (request["kind"], request["subject"], request["status"]) == (
            "SET_OVERDRAFT_LIMIT",
            account,
            "PENDING",
        )
        assert request["params"] == {
            "limit": "5000.00",
            "reason": "credit line approved",
            "currency": "EUR",
            "previous": "0.00",
        }
        # Pending: nothing changed, the payout beyond the balance is refused.
        assert payout(client, account, "3000.00")["reason"] == "INSUFFICIENT_FUNDS"
        errors = gql_errors(olga, APPROVE, {"id": request["id"]})
        assert errors[0]["extensions"]["code"] == "REFUSED"
    with client_as(container, VIC) as vic:
        errors = gql_errors(vic, APPROVE, {"id": request["id"]})
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    with client_as(container, CARL) as carl:
        done = gql(carl, APPROVE, {"id": request["id"]})["approveChangeRequest"]
    assert done == {
        "status": "EXECUTED",
        "outcome": f"account {account} overdraft limit set to 5000.00 EUR",
        "decidedBy": "user:carl",
    }
    assert container.ledger.get_account(account).overdraft_limit == Decimal("5000.00")
    assert payout(client, account, "3000.00")["status"] == "POSTED"
    project(container)
    shown = client.get(f"/v1/accounts/{account}").json()
    assert shown["overdraftLimit"] == {"amount": "5000.00", "currency": "EUR"}
    assert shown["balance"] == {"amount": "-2900.00", "currency": "EUR"}


def test_an_overdraft_request_is_validated_before_anyone_approves(
    client: TestClient, container: Container
) -> None:
    with client_as(container, OLGA) as olga:
        account = rest_open(olga, "0").json()["id"]
        for limit, problem in [
            (ABSURD, "12 integer digits"),
            ("-5", "must not be negative"),
            ("1.005", "EUR allows 2 decimal places"),
        ]:
            variables = {"id": account, "limit": limit, "reason": "x"}
            errors = gql_errors(olga, REQUEST, variables)
            assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
            assert "limit" in errors[0]["message"] and problem in errors[0]["message"]
        fund(client, account, "1.00")  # opens clearing:EUR, which has no overdraft limit
        errors = gql_errors(olga, REQUEST, {"id": "clearing:EUR", "limit": "5", "reason": "x"})
        assert errors[0]["extensions"]["code"] == "CONFLICT", errors
    with client_as(container, VIC) as vic:
        errors = gql_errors(vic, REQUEST, {"id": account, "limit": "5", "reason": "x"})
        assert errors[0]["extensions"] == {"code": "FORBIDDEN", "permission": "accounts:write"}
    assert container.identity.pending() == []


def test_two_approvals_of_the_same_request_change_the_limit_once(
    client: TestClient, container: Container
) -> None:
    """Execution is idempotent per request (a replica completing an interrupted approval)."""
    with client_as(container, OLGA) as olga:
        account = rest_open(olga, "0").json()["id"]
        request = gql(olga, REQUEST, {"id": account, "limit": "2500", "reason": "raise"})
    request_id = request["requestOverdraftLimit"]["id"]
    with client_as(container, OTTO) as otto:
        assert gql(otto, APPROVE, {"id": request_id})["approveChangeRequest"]["status"] == (
            "EXECUTED"
        )
    changes = container.ledger_changes
    outcome = changes.execute(
        "SET_OVERDRAFT_LIMIT", account, {"limit": "2500", "reason": "raise"}, request_id=request_id
    )
    assert outcome == f"account {account} overdraft limit set to 2500.00 EUR"
    account_id = container.ledger.get_account(account).id
    kinds = [type(e).__name__ for e in container.ledger.events.get(account_id)]
    assert kinds.count("OverdraftLimitChanged") == 1
