"""REST routes end to end: happy paths, 4xx paths, idempotency, causation, errors."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.deps import unauthorized_routes, v1_routes
from api.runtime.bootstrap import Container
from api.security import Principal
from tests.builders import EXAMPLE_MESSAGE, FakeClock, iban, message
from tests.e2e.conftest import client_as, fund, open_account, pay, project

# --------------------------------------------------------------------------- accounts


def test_open_account_answers_201_with_the_account(client: TestClient) -> None:
    response = client.post(
        "/v1/accounts",
        json={
            "iban": "de89 3704 0044 0532 0130 00",
            "holderName": "  Max Mustermann ",
            "currency": "eur",
            "overdraftLimit": "500",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == body["iban"] == "DE89370400440532013000"
    assert body["holderName"] == "Max Mustermann"
    assert body["currency"] == "EUR"
    assert body["status"] == "OPEN"
    assert body["type"] == "CUSTOMER"
    assert body["balance"] == {"amount": "0.00", "currency": "EUR"}
    assert body["availableBalance"] == {"amount": "0.00", "currency": "EUR"}
    assert body["overdraftLimit"] == {"amount": "500.00", "currency": "EUR"}
    assert response.headers["location"] == "/v1/accounts/DE89370400440532013000"


def test_get_account_reads_the_read_model(client: TestClient, container: Container) -> None:
    account = open_account(client, "DE89370400440532013000", overdraft="100.00")
    fund(client, account, "250.75")
    assert client.get(f"/v1/accounts/{account}").status_code == 404  # not projected yet
    project(container)
    response = client.get("/v1/accounts/de89 3704 0044 0532 0130 00")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["balance"] == {"amount": "250.75", "currency": "EUR"}
    assert body["availableBalance"]["amount"] == "250.75"
    clearing = client.get("/v1/accounts/clearing:EUR").json()
    assert clearing["type"] == "INTERNAL"
    assert clearing["iban"] is None
    assert clearing["balance"]["amount"] == "-250.75"


def test_duplicate_account_is_409(client: TestClient) -> None:
    account = open_account(client)
    response = client.post(
        "/v1/accounts", json={"iban": account, "holderName": "Someone Else", "currency": "EUR"}
    )
    assert response.status_code == 409
    assert "already open" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"iban": "DE89370400440532013001", "holderName": "Max", "currency": "EUR"},
            "iban: invalid IBAN 'DE89370400440532013001'",
        ),
        ({"iban": "DE89370400440532013000", "currency": "EUR"}, "holderName: Field required"),
        (
            {"iban": "DE89370400440532013000", "holderName": "   ", "currency": "EUR"},
            "holderName: must not be blank",
        ),
        (
            {"iban": "DE89370400440532013000", "holderName": "Max", "currency": "XYZ"},
            "currency: unknown ISO 4217 currency 'XYZ'",
        ),
        (
            {
                "iban": "DE89370400440532013000",
                "holderName": "Max",
                "currency": "EUR",
                "overdraftLimit": "-5",
            },
            "overdraftLimit: must not be negative",
        ),
        (
            {
                "iban": "DE89370400440532013000",
                "holderName": "Max",
                "currency": "EUR",
                "overdraftLimit": "1.005",
            },
            "overdraftLimit: EUR allows 2 decimal places",
        ),
        (
            {
                "iban": "DE89370400440532013000",
                "holderName": "Max",
                "currency": "EUR",
                "overdraftLimit": 100.5,
            },
            "overdraftLimit: Input should be a valid string",
        ),
        (
            {"iban": "DE89370400440532013000", "holderName": "Max", "currency": "EUR", "x": 1},
            "x: Extra inputs are not permitted",
        ),
    ],
)
def test_invalid_account_is_422_with_a_readable_message(
    client: TestClient, body: dict[str, object], expected: str
) -> None:
    response = client.post("/v1/accounts", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert expected in detail


@pytest.mark.parametrize("path", ["/v1/accounts", "/v1/transactions"])
def test_malformed_json_is_400_not_500(client: TestClient, path: str) -> None:
    response = client.post(
        path, content=b'{"iban": "DE89', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_account_path_that_is_no_iban_is_422(client: TestClient) -> None:
    response = client.get("/v1/accounts/NOT-AN-IBAN")
    assert response.status_code == 422
    assert "account id: invalid IBAN" in response.json()["detail"]
    assert client.get("/v1/accounts/clearing:XXX").status_code == 422


# --------------------------------------------------------------------------- transactions


def test_submit_payment_202_and_repeat_answers_the_same_body(
    client: TestClient, container: Container
) -> None:
    debtor = open_account(client, EXAMPLE_MESSAGE["debtor"]["iban"])
    fund(client, debtor, "1000.00")
    first = client.post("/v1/transactions", json=EXAMPLE_MESSAGE)
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["status"] == "POSTED"
    assert set(body) == {"transactionId", "status", "reason"}
    assert first.headers["location"] == f"/v1/transactions/{body['transactionId']}"

    again = client.post("/v1/transactions", json=EXAMPLE_MESSAGE)
    assert again.status_code == 200
    assert again.json() == body
    assert again.headers["idempotent-replayed"] == "true"
    # Same key, another payment: refused with 409, nothing booked.
    changed = dict(EXAMPLE_MESSAGE, amount="999.00")
    refused = client.post("/v1/transactions", json=changed)
    assert refused.status_code == 409, refused.text
    assert "another amount" in refused.text

    project(container)
    account = client.get(f"/v1/accounts/{debtor}").json()
    assert account["balance"]["amount"] == "874.60"  # 1000.00 - 125.40, once
    postings = container.queries.postings(debtor, 10)
    assert len(postings.edges) == 2


def test_get_transaction_with_status_history(client: TestClient, container: Container) -> None:
    debtor = open_account(client)
    fund(client, debtor, "100.00")
    body = pay(client, debtor=debtor, amount="40.00", reference="Invoice 1")
    project(container)
    response = client.get(f"/v1/transactions/{body['transactionId']}")
    assert response.status_code == 200, response.text
    tx = response.json()
    assert tx["status"] == "POSTED"
    assert tx["amount"] == {"amount": "40.00", "currency": "EUR"}
    assert tx["debtor"]["iban"] == debtor
    assert tx["reference"] == "Invoice 1"
    assert [s["status"] for s in tx["statusHistory"]] == ["RECEIVED", "SCREENED", "POSTED"]
    assert tx["receivedAt"].endswith("Z")


def test_transaction_lookup_errors(client: TestClient) -> None:
    assert client.get("/v1/transactions/not-a-uuid").status_code == 422
    missing = client.get("/v1/transactions/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert "no transaction" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"debtor": {"iban": "DE00123", "name": "X"}}, "debtor.iban: invalid IBAN"),
        ({"creditor": {"iban": "FR1420041010050500013M02607", "name": "Y"}}, "creditor.iban"),
        ({"amount": 125.4}, "amount: must be a decimal string"),
        ({"amount": "1.005"}, "amount: EUR allows 2 decimal places"),
        ({"amount": "-3.00"}, "amount: must be greater than zero"),
        ({"currency": "EURO"}, "currency: at most 3 characters"),
        ({"externalId": None}, "externalId: required"),
        ({"requestedAt": "2026-11-23T10:15:00"}, "requestedAt: must carry a time zone"),
    ],
)
def test_invalid_payment_is_422_with_the_parsers_message(
    client: TestClient, change: dict[str, object], expected: str
) -> None:
    response = client.post("/v1/transactions", json={**EXAMPLE_MESSAGE, **change})
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]


def test_payment_body_that_is_not_an_object_is_422(client: TestClient) -> None:
    response = client.post("/v1/transactions", content=b"[1, 2]")
    assert response.status_code == 422
    assert response.json() == {"detail": "message must be a JSON object"}


def test_every_problem_is_listed(client: TestClient) -> None:
    response = client.post("/v1/transactions", json={"channel": "MOBILE"})
    detail = response.json()["detail"]
    for field in ("externalId", "debtor", "creditor", "currency", "amount"):
        assert f"{field}:" in detail


def test_rejections_and_holds_are_202_with_their_status(client: TestClient) -> None:
    unknown = pay(client, debtor=iban("NL"), creditor=iban("BE"))
    assert unknown["status"] == "REJECTED"
    assert unknown["reason"] == "UNKNOWN_ACCOUNT"

    poor = open_account(client)
    assert pay(client, debtor=poor, amount="10.00")["reason"] == "INSUFFICIENT_FUNDS"

    rich = open_account(client)
    fund(client, rich, "30000.00")
    held = pay(client, debtor=rich, amount="12000.00")  # above the review limit (10000)
    assert held == {"transactionId": held["transactionId"], "status": "HELD", "reason": None}
    too_big = pay(client, debtor=rich, amount="60000.00")
    assert (too_big["status"], too_big["reason"]) == ("REJECTED", "SCREENING_DECLINED")


def test_account_as_of_answers_from_history(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    account = open_account(client)
    clock.advance(60)
    fund(client, account, "100.00")
    noted = clock.advance(60)
    clock.advance(60)
    fund(client, account, "50.00")
    project(container)
    now = client.get(f"/v1/accounts/{account}").json()
    assert now["balance"]["amount"] == "150.00"
    then = client.get(f"/v1/accounts/{account}", params={"asOf": noted.isoformat()})
    assert then.status_code == 200, then.text
    assert then.json()["balance"]["amount"] == "100.00"
    before = clock.now.replace(year=2020)
    assert (
        client.get(f"/v1/accounts/{account}", params={"asOf": before.isoformat()}).status_code
        == 404
    )
    naive = client.get(f"/v1/accounts/{account}", params={"asOf": "2026-11-23T10:00:00"})
    assert naive.status_code == 422
    assert "timezone" in naive.json()["detail"].lower()


def test_transaction_as_of_before_it_was_received_is_404(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    noted = clock.now
    clock.advance(10)
    account = open_account(client)
    tx = fund(client, account, "5.00")
    project(container)
    assert client.get(f"/v1/transactions/{tx}").status_code == 200
    response = client.get(f"/v1/transactions/{tx}", params={"asOf": noted.isoformat()})
    assert response.status_code == 404


# --------------------------------------------------------------------------- causation


def test_events_carry_principal_correlation_id_and_channel(
    client: TestClient, container: Container
) -> None:
    account = open_account(client)
    response = client.post(
        "/v1/transactions",
        json=message(debtor=iban("NL"), creditor=account, amount="10.00"),
        headers={"X-Correlation-Id": "corr-rest-42"},
    )
    assert response.headers["x-correlation-id"] == "corr-rest-42"
    tx_id = response.json()["transactionId"]
    project(container)
    events = [view for _, view in container.queries.audit_trail(stream_id=tx_id).edges]
    assert events
    assert {(e.actor, e.correlation_id, e.channel) for e in events} == {
        ("user:dev", "corr-rest-42", "REST")
    }


def test_a_correlation_id_is_made_when_none_or_a_bad_one_is_sent(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-correlation-id"]
    assert len(generated) == 36
    replaced = client.get("/healthz", headers={"X-Correlation-Id": "bad id with spaces"})
    assert replaced.headers["x-correlation-id"] != "bad id with spaces"


# --------------------------------------------------------------------------- authorization


def test_every_v1_route_is_authorized(container: Container) -> None:
    app = create_app(container)
    checked = {(route.path, method) for route in v1_routes(app) for method in route.methods}
    assert {
        ("/v1/accounts", "POST"),
        ("/v1/accounts/{account_id}", "GET"),
        ("/v1/transactions", "POST"),
        ("/v1/transactions/{transaction_id}", "GET"),
    } <= checked  # the walk sees the included routers' routes
    assert unauthorized_routes(app) == []


def test_a_principal_without_roles_gets_403_everywhere(container: Container) -> None:
    nobody = Principal(name="user:nobody", roles=frozenset())
    with client_as(container, nobody) as client:
        calls = [
            client.post(
                "/v1/accounts",
                json={"iban": iban("DE"), "holderName": "X", "currency": "EUR"},
            ),
            client.post("/v1/transactions", json=message()),
            client.get("/v1/accounts/DE89370400440532013000"),
            client.get("/v1/transactions/00000000-0000-0000-0000-000000000000"),
        ]
        for response in calls:
            assert response.status_code == 403, response.text
            assert "user:nobody is not allowed to" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_a_channel_may_submit_but_not_open_accounts(container: Container) -> None:
    channel = Principal(
        name="service:mobile",
        roles=frozenset({"channel"}),
        kind="service",
        channels=frozenset({"MOBILE"}),
    )
    with client_as(container, channel) as client:
        assert client.post("/v1/transactions", json=message()).status_code == 202
        opened = client.post(
            "/v1/accounts", json={"iban": iban("DE"), "holderName": "X", "currency": "EUR"}
        )
        assert opened.status_code == 403
        assert "accounts:write" in opened.json()["detail"]


# --------------------------------------------------------------------------- failures


def test_unexpected_errors_are_a_generic_500(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(container.queries, "account", broken)
    response = client.get(
        "/v1/accounts/DE89370400440532013000", headers={"X-Correlation-Id": "c-500"}
    )
    assert response.status_code == 500
    body = response.json()
    assert body == {"detail": "Internal error; see the server log (X-Correlation-Id: c-500)"}
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/v1/accounts", "/v1/transactions", "/v1/accounts/{account_id}"):
        assert path in spec["paths"]
    submit = spec["paths"]["/v1/transactions"]["post"]
    assert {"200", "202", "400", "422"} <= set(submit["responses"])
    schema = submit["requestBody"]["content"]["application/json"]["schema"]
    assert "externalId" in json.dumps(schema)
    assert client.get("/docs").status_code == 200


def test_a_repeated_held_payment_answers_the_same(client: TestClient) -> None:
    rich = open_account(client)
    fund(client, rich, "30000.00")
    body = message(debtor=rich, amount="12000.00")
    first = client.post("/v1/transactions", json=body)
    assert (first.status_code, first.json()["status"]) == (202, "HELD")
    again = client.post("/v1/transactions", json=body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
