"""Request bodies above ``LEDGER_MAX_BODY_BYTES`` are refused with 413 by the real app, whether
they declare a ``Content-Length`` or arrive chunked; nothing is booked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime.bootstrap import Container
from api.runtime.settings import DEFAULT_MAX_BODY_BYTES, Settings
from api.security import ROLE_PERMISSIONS, Principal
from tests.builders import iban, message
from tests.e2e.conftest import client_as

LIMIT = 4096
EVERY_ROLE = Principal(name="user:hardening", roles=frozenset(ROLE_PERMISSIONS))


@pytest.fixture
def limited(container: Container, settings: Settings) -> Iterator[TestClient]:
    container.settings = settings.updated(http={"max_body_bytes": LIMIT})
    with client_as(container, EVERY_ROLE) as client:
        yield client


def padded(size: int) -> bytes:
    """A valid payment message of exactly ``size`` bytes (JSON whitespace is the padding)."""
    raw = json.dumps(message(debtor=iban("NL"), creditor=iban("DE"), channel="SEPA")).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def chunks(raw: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


def assert_too_large(response: Any, limit: int = LIMIT) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": f"request body is larger than the limit of {limit} bytes"}
    assert response.headers["x-correlation-id"]


def test_a_declared_body_above_the_limit_is_413(limited: TestClient, container: Container) -> None:
    response = limited.post(
        "/v1/transactions",
        content=padded(LIMIT + 1),
        headers={"content-type": "application/json"},
    )
    assert_too_large(response)
    assert container.queries.audit_trail(first=10).edges == []


def test_a_body_of_exactly_the_limit_is_accepted(limited: TestClient) -> None:
    response = limited.post(
        "/v1/transactions", content=padded(LIMIT), headers={"content-type": "application/json"}
    )
    assert response.status_code == 202, response.text


def test_a_chunked_body_above_the_limit_is_413(limited: TestClient, container: Container) -> None:
    response = limited.post(
        "/v1/transactions",
        content=chunks(padded(LIMIT + 500)),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(response)
    assert container.queries.audit_trail(first=10).edges == []


def test_a_chunked_body_within_the_limit_is_booked(limited: TestClient) -> None:
    response = limited.post(
        "/v1/transactions",
        content=chunks(padded(LIMIT - 10), size=700),
        headers={"content-type": "application/json"},
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 202, response.text


def test_graphql_bodies_are_limited_too(limited: TestClient) -> None:
    query = "{ trialBalance { asOf } }" + " " * LIMIT
    assert_too_large(limited.post("/graphql", json={"query": query}))


def test_the_default_limit_is_one_mebibyte(client: TestClient) -> None:
    assert DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    response = client.post(
        "/v1/accounts",
        content=b"{" + b" " * DEFAULT_MAX_BODY_BYTES + b"}",
        headers={"content-type": "application/json"},
    )
    assert_too_large(response, DEFAULT_MAX_BODY_BYTES)


def test_refusals_are_counted_and_logged_like_any_request(limited: TestClient) -> None:
    limited.post("/v1/transactions", content=b"x" * (LIMIT + 1))
    metrics = limited.get("/metrics").text
    assert 'ledger_http_requests_total{method="POST",route="unmatched",status="413"} 1.0' in metrics
