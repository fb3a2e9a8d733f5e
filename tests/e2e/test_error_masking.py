"""Unexpected failures: the client learns only where to look (the correlation id), the log
gets the exception with its stack trace, under that id, with IBANs masked.

Failures are injected by replacing a query or use-case method with one that raises an error
whose message carries a secret and an IBAN.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from api.graphql.schema import UNEXPECTED_MESSAGE
from api.runtime.bootstrap import Container
from api.runtime.logs import configure_logging
from tests.builders import iban, message

SECRET = "postgresql://ledger:hunter2@db.internal/ledger"
IBAN = "DE89370400440532013000"


def broken(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError(f"could not reach {SECRET} while reading {IBAN}")


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def assert_nothing_leaks(text: str) -> None:
    for leak in ("hunter2", SECRET, IBAN, "Traceback", "RuntimeError", 'File "', ".py"):
        assert leak not in text, leak


def assert_logged(stream: io.StringIO, event: str, correlation_id: str) -> None:
    line = next(line for line in log_lines(stream) if line["event"] == event)
    assert line["correlation_id"] == correlation_id
    assert line["level"] == "error"
    assert "Traceback" in line["exception"]
    assert "RuntimeError: could not reach" in line["exception"]
    assert IBAN not in stream.getvalue()  # masked even inside the rendered exception
    assert "DE89**************3000" in line["exception"]


# --------------------------------------------------------------------------- REST


def test_a_failing_read_is_a_500_that_names_only_the_correlation_id(
    client: TestClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    json_logs: io.StringIO,
) -> None:
    monkeypatch.setattr(container.queries, "account", broken)
    response = client.get(f"/v1/accounts/{IBAN}", headers={"X-Correlation-Id": "c-read"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-correlation-id"] == "c-read"
    assert response.json() == {
        "detail": "Internal error; see the server log (X-Correlation-Id: c-read)"
    }
    assert_nothing_leaks(response.text)
    assert_logged(json_logs, "unhandled error", "c-read")


def test_a_failing_write_is_a_500_too(
    client: TestClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    json_logs: io.StringIO,
) -> None:
    monkeypatch.setattr(container.ledger, "submit_payment", broken)
    response = client.post(
        "/v1/transactions",
        json=message(debtor=iban("NL"), creditor=iban("DE"), channel="SEPA"),
        headers={"X-Correlation-Id": "c-write"},
    )
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal error; see the server log (X-Correlation-Id: c-write)"
    }
    assert_nothing_leaks(response.text)
    assert_logged(json_logs, "unhandled error", "c-write")
    request = next(line for line in log_lines(json_logs) if line["event"] == "request")
    assert (request["status"], request["correlation_id"]) == (500, "c-write")


# --------------------------------------------------------------------------- GraphQL


def test_a_failing_resolver_is_masked(
    client: TestClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    json_logs: io.StringIO,
) -> None:
    monkeypatch.setattr(container.queries, "trial_balance", broken)
    response = client.post(
        "/graphql",
        json={"query": "{ trialBalance { asOf } }"},
        headers={"X-Correlation-Id": "c-gql"},
    )
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert [error["message"] for error in errors] == [UNEXPECTED_MESSAGE]
    assert "stacktrace" not in str(errors).lower()
    assert_nothing_leaks(response.text)
    assert_logged(json_logs, "graphql resolver failed", "c-gql")


def test_a_failing_mutation_is_masked(
    client: TestClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    json_logs: io.StringIO,
) -> None:
    monkeypatch.setattr(container.ledger, "open_account", broken)
    response = client.post(
        "/graphql",
        json={
            "query": 'mutation($iban: String!) { openAccount(iban: $iban, holderName: "X", '
            'currency: "EUR") { id } }',
            "variables": {"iban": IBAN},
        },
        headers={"X-Correlation-Id": "c-mut"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == [UNEXPECTED_MESSAGE]
    assert_nothing_leaks(response.text)
    assert_logged(json_logs, "graphql resolver failed", "c-mut")
