"""The log of real requests never holds a full IBAN: not in the events the routes log, not in
the access log's path, not in GraphQL error lines, whatever case the client wrote it in."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from api.runtime.bootstrap import Container
from api.runtime.logs import configure_logging
from tests.builders import message
from tests.e2e.conftest import gql_errors, project

HOLDER = "DE89370400440532013000"
HOLDER_MASKED = "DE89**************3000"
OTHER = "FR1420041010050500013M02606"
STRANGER = "GB82WEST12345698765432"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def assert_no_full_iban(stream: io.StringIO) -> None:
    text = stream.getvalue()
    for iban in (HOLDER, OTHER, STRANGER):
        assert iban not in text
        assert iban.lower() not in text
        assert iban[4:-4] not in text  # not even the middle


def test_rest_requests_log_no_full_iban(
    client: TestClient, container: Container, json_logs: io.StringIO
) -> None:
    opened = client.post(
        "/v1/accounts",
        json={"iban": HOLDER, "holderName": "Max", "currency": "EUR"},
        headers={"X-Correlation-Id": "mask-1"},
    )
    assert opened.status_code == 201
    assert opened.json()["iban"] == HOLDER  # the client still gets it in full
    paid = client.post("/v1/transactions", json=message(debtor=OTHER, creditor=HOLDER))
    assert paid.status_code == 202
    project(container)
    assert client.get(f"/v1/accounts/{HOLDER.lower()}").status_code == 200
    assert client.get(f"/v1/accounts/{STRANGER}").status_code == 404
    assert_no_full_iban(json_logs)
    logged = lines(json_logs)
    opened_line = next(line for line in logged if line["event"] == "account opened")
    assert (opened_line["account"], opened_line["correlation_id"]) == (HOLDER_MASKED, "mask-1")
    paths = [line["path"] for line in logged if line["event"] == "request"]
    assert "/v1/accounts/de89**************3000" in paths
    assert "/v1/accounts/GB82**************5432" in paths


def test_graphql_error_lines_log_no_full_iban(client: TestClient, json_logs: io.StringIO) -> None:
    errors = gql_errors(
        client, f'mutation {{ requestAccountFreeze(id: "{STRANGER}", reason: "r") {{ id }} }}'
    )
    assert STRANGER in errors[0]["message"]  # the client's own input, in its answer
    assert_no_full_iban(json_logs)
    line = next(line for line in lines(json_logs) if line["event"] == "graphql error")
    assert "GB82**************5432" in line["message"]
