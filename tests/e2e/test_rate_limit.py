"""The per-principal rate limit over HTTP: 429 with ``Retry-After`` on REST and GraphQL alike,
one bucket per authenticated principal shared by both APIs, operations endpoints exempt.

The limiter on ``app.state`` is replaced by one on a hand-moved clock, so nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from api.http.app import create_app
from api.http.middleware.ratelimit import RateLimiter
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import ROLE_PERMISSIONS, HasHeaders, Principal
from tests.builders import MonotonicClock

BURST = 3
RATE = 0.5  # a token every 2 s
QUERY = {"query": "{ trialBalance { totals { currency } } }"}


def by_header(request: HasHeaders) -> Principal:
    """Test resolver: the principal named in ``X-Test-Principal`` (every role)."""
    name = request.headers.get("x-test-principal", "user:a")
    return Principal(name=name, roles=frozenset(ROLE_PERMISSIONS))


@pytest.fixture
def ticks() -> MonotonicClock:
    return MonotonicClock()


@pytest.fixture
def app(container: Container, ticks: MonotonicClock) -> FastAPI:
    built = create_app(container, principal_resolver=by_header)
    built.state.rate_limiter = RateLimiter(RATE, BURST, clock=ticks)
    return built


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def rest(client: TestClient, who: str = "user:a") -> Response:
    return client.get("/v1/accounts/clearing:EUR", headers={"x-test-principal": who})


def graphql(client: TestClient, who: str = "user:a") -> Response:
    return client.post("/graphql", json=QUERY, headers={"x-test-principal": who})


def assert_limited(response: Response, retry_after: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == retry_after
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": f"rate limit exceeded for user:a; retry after {retry_after} s"
    }


def test_rest_burst_then_429_then_refilled(client: TestClient, ticks: MonotonicClock) -> None:
    for _ in range(BURST):
        assert rest(client).status_code != 429
    assert_limited(rest(client), retry_after="2")
    ticks.advance(1.5)
    assert_limited(rest(client), retry_after="1")  # 0.5 s left, rounded up
    ticks.advance(0.5)
    assert rest(client).status_code != 429
    assert rest(client).status_code == 429


def test_graphql_answers_http_429_too(client: TestClient, ticks: MonotonicClock) -> None:
    for _ in range(BURST):
        response = graphql(client)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json()
    assert_limited(graphql(client), retry_after="2")
    ticks.advance(2)
    assert graphql(client).status_code == 200


def test_rest_and_graphql_share_one_bucket(client: TestClient) -> None:
    assert rest(client).status_code != 429
    assert graphql(client).status_code == 200
    assert rest(client).status_code != 429
    assert graphql(client).status_code == 429
    assert rest(client).status_code == 429


def test_principals_have_buckets_of_their_own(client: TestClient) -> None:
    for _ in range(BURST):
        rest(client, "user:a")
    assert rest(client, "user:a").status_code == 429
    for _ in range(BURST):
        assert rest(client, "service:mobile").status_code != 429
        assert graphql(client, "user:b").status_code == 200
    assert rest(client, "service:mobile").status_code == 429
    assert graphql(client, "user:b").status_code == 429


def test_operations_endpoints_are_not_limited(client: TestClient) -> None:
    for _ in range(BURST + 1):
        rest(client)
    assert rest(client).status_code == 429
    for _ in range(2 * BURST):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200
    metrics = client.get("/metrics").text
    assert 'route="/v1/accounts/{account_id}",status="429"} 2.0' in metrics


def test_writes_refused_by_the_limit_record_nothing(
    client: TestClient, container: Container
) -> None:
    for _ in range(BURST):
        rest(client)
    response = client.post(
        "/v1/accounts",
        json={"iban": "DE89370400440532013000", "holderName": "Max", "currency": "EUR"},
        headers={"x-test-principal": "user:a"},
    )
    assert response.status_code == 429
    assert container.queries.audit_trail(first=10).edges == []


# --------------------------------------------------------------------------- from settings


def test_the_limiter_comes_from_the_settings(container: Container, settings: Settings) -> None:
    container.settings = settings.updated(
        http={"rate_limit_per_second": 7.5, "rate_limit_burst": 11}
    )
    limiter = create_app(container, principal_resolver=by_header).state.rate_limiter
    assert isinstance(limiter, RateLimiter)
    assert (limiter.rate, limiter.burst) == (7.5, 11)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 100), (50.0, 0)])
def test_zero_turns_the_limit_off(
    container: Container, settings: Settings, rate: float, burst: int
) -> None:
    container.settings = settings.updated(
        http={"rate_limit_per_second": rate, "rate_limit_burst": burst}
    )
    app = create_app(container, principal_resolver=by_header)
    assert app.state.rate_limiter is None
    with TestClient(app) as client:
        for _ in range(30):
            assert client.get("/v1/accounts/clearing:EUR").status_code != 429


def test_openapi_documents_the_refusals(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, method in (("/v1/accounts", "post"), ("/v1/accounts/{account_id}", "get")):
        responses = spec["paths"][path][method]["responses"]
        assert {"413", "429", "500"} <= set(responses)
        assert "Retry-After" in responses["429"]["headers"]


def test_refused_callers_are_throttled_by_address(
    container: Container, ticks: MonotonicClock
) -> None:
    """Requests without a valid token have no principal to count against: they share one
    bucket per client address, so a flood of bad tokens ends in 429s rather than endless 401s."""
    app = create_app(container)  # the real authenticator
    app.state.rate_limiter = RateLimiter(RATE, BURST, clock=ticks)
    with TestClient(app) as anonymous:
        answers = [anonymous.get("/v1/accounts/clearing:EUR").status_code for _ in range(BURST + 1)]
        assert answers == [401] * BURST + [429]
        bad = {"authorization": "Bearer not-a-token"}
        assert anonymous.post("/graphql", json=QUERY, headers=bad).status_code == 429
        ticks.advance(2.0)
        assert anonymous.get("/v1/accounts/clearing:EUR").status_code == 401
