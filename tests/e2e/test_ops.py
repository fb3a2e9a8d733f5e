"""Operations: /healthz, /readyz, /metrics, JSON logs with correlation ids and masked IBANs,
and the projector thread the app runs for role ``all``."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
import structlog
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.runtime.bootstrap import Container
from api.runtime.logs import configure_logging, get_logger, mask_ibans
from api.runtime.settings import Settings
from tests.builders import iban
from tests.e2e.conftest import SUPERUSER, client_as, fund, open_account, pay, project


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_projection_lag(
    client: TestClient, container: Container
) -> None:
    open_account(client)
    project(container)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert set(body["checks"]["projections"]) == {
        "accounts",
        "transactions",
        "audit",
        "fraud",
        "fraud_claims",
        "fraud_monitor",
        "chain",  # the audit hash chain, extended by the projector (tamper evidence)
        "identity",
        "notifications",
        "reconciliation",
        "vop_directory",
        "vop_checks",
    }
    assert {p["lag"] for p in body["checks"]["projections"].values()} == {0}


def test_readyz_is_503_when_projections_lag_too_far(
    container: Container, settings: Settings
) -> None:
    container.settings = settings.updated(projections={"ready_max_lag": 0})
    with client_as(container, SUPERUSER) as client:
        open_account(client)  # one event the projector has not seen
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["projections"]["accounts"]["lag"] == 1
        project(container)
        assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(container, "check_database", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


def test_metrics(client: TestClient, container: Container) -> None:
    account = open_account(client)
    fund(client, account, "10.00")
    pay(client, debtor=iban("NL"), creditor=iban("BE"))  # rejected
    client.post("/graphql", json={"query": "{ accounts { edges { cursor } } }"})
    client.get("/v1/accounts/NOT-AN-IBAN")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'ledger_http_requests_total{method="POST",route="/v1/accounts",status="201"} 1.0' in text
    assert 'route="/v1/accounts/{account_id}",status="422"' in text  # a template, not the IBAN
    assert 'route="/graphql",status="200"' in text
    assert 'ledger_payments_submitted_total{duplicate="false",status="POSTED"} 1.0' in text
    assert 'ledger_payments_submitted_total{duplicate="false",status="REJECTED"} 1.0' in text
    assert 'ledger_projection_lag_events{context="ledger",projection="accounts"}' in text
    assert "ledger_http_request_duration_seconds_bucket" in text
    assert "ledger_projection_status_up 1.0" in text


def test_the_app_runs_the_projector_thread_when_asked(container: Container) -> None:
    resolver = lambda _request: SUPERUSER  # noqa: E731
    with TestClient(
        create_app(container, run_projector=True, principal_resolver=resolver)
    ) as client:
        account = open_account(client)
        assert container.projector_active
        assert container.wait_for_projections(timeout=10)
        response = client.get(f"/v1/accounts/{account}")
        assert response.status_code == 200, response.text
        # GraphQL mutations wait for the projector, so nested fields see the write.
        data = client.post(
            "/graphql",
            json={
                "query": 'mutation($id: String!) { closeAccount(id: $id, reason: "x") '
                "{ status postings { edges { cursor } } } }",
                "variables": {"id": account},
            },
        ).json()
        assert data["data"]["closeAccount"]["status"] == "CLOSED"
        deadline = time.monotonic() + 10
        while client.get(f"/v1/accounts/{account}").json()["status"] != "CLOSED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert not container.projector_active


# --------------------------------------------------------------------------- logs


def test_mask_ibans_everywhere() -> None:
    assert mask_ibans("pay DE89370400440532013000 now") == "pay DE89**************3000 now"
    assert mask_ibans("DE89 3704 0044 0532 0130 00") == "DE89**************3000"
    assert mask_ibans({"a": ["FR1420041010050500013M02606"]}) == {
        "a": ["FR14*******************2606"]
    }
    uuid_text = "5e39ccdc-5c25-5e60-9259-8135fbe7fa38"
    assert mask_ibans(uuid_text) == uuid_text


@pytest.fixture
def json_logs() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


def test_logs_are_json_with_correlation_ids_and_masked_ibans(
    client: TestClient, json_logs: io.StringIO
) -> None:
    client.post(
        "/v1/accounts",
        json={"iban": "DE89370400440532013000", "holderName": "Max", "currency": "EUR"},
        headers={"X-Correlation-Id": "corr-log-1"},
    )
    get_logger("test").info("stdlib and structlog alike", iban="FR1420041010050500013M02606")
    logging.getLogger("uvicorn.error").info("from uvicorn about DE89370400440532013000")
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    assert lines
    text = json_logs.getvalue()
    assert "DE89370400440532013000" not in text
    assert "FR1420041010050500013M02606" not in text
    opened = next(line for line in lines if line["event"] == "account opened")
    assert opened["account"] == "DE89**************3000"
    assert opened["correlation_id"] == "corr-log-1"
    request = next(line for line in lines if line["event"] == "request")
    assert request["route"] == "/v1/accounts"
    assert request["status"] == 201
    assert {"timestamp", "level"} <= set(request)
    assert any(line.get("logger") == "uvicorn.error" for line in lines)
