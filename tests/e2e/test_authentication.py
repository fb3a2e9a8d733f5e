"""Bearer tokens through the real app: what reaches the API and what is refused (401/403)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from adapters.auth.local_issuer import LocalIssuer
from api.http.app import create_app
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import local_issuer
from tests.builders import iban, message
from tests.e2e.conftest import SUPERUSER, client_as, open_account, project


@pytest.fixture
def issuer(settings: Settings) -> LocalIssuer:
    return local_issuer(settings.auth, settings.data_dir)


@pytest.fixture
def app_client(container: Container) -> Iterator[TestClient]:
    """The app with its real authenticator (no injected principal)."""
    with TestClient(create_app(container)) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_no_token_is_401_with_a_bearer_challenge(app_client: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/accounts/DE89370400440532013000"),
        ("POST", "/v1/transactions"),
    ]:
        response = app_client.request(method, path, json={})
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"].startswith('Bearer realm="backoffice-ledger"')
        assert "missing bearer token" in response.json()["detail"]
    graphql = app_client.post("/graphql", json={"query": "{ accounts { edges { cursor } } }"})
    assert graphql.status_code == 401
    assert "www-authenticate" in graphql.headers


def test_a_channel_token_submits_payments(
    app_client: TestClient, container: Container, issuer: LocalIssuer
) -> None:
    with client_as(container, SUPERUSER) as setup:
        account = open_account(setup)
    token = issuer.issue("service:mobile", ["channel"], 300, channels=["MOBILE"])
    submitted = app_client.post(
        "/v1/transactions",
        json=message(debtor=iban("NL"), creditor=account, amount="5.00", channel="MOBILE"),
        headers=auth(token),
    )
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "POSTED"
    mine = submitted.json()["transactionId"]
    project(container)
    # the channel reads its own payment back, but not the accounts, nor GraphQL (for people)
    assert app_client.get(f"/v1/transactions/{mine}", headers=auth(token)).status_code == 200
    assert app_client.get(f"/v1/accounts/{account}", headers=auth(token)).status_code == 403
    graphql = app_client.post(
        "/graphql", json={"query": "{ trialBalance { totals { currency } } }"}, headers=auth(token)
    )
    assert graphql.status_code == 403
    assert "GraphQL is the backoffice API for people" in graphql.json()["detail"]


def test_a_channel_token_is_bound_to_its_channels(
    app_client: TestClient, container: Container, issuer: LocalIssuer
) -> None:
    """A leaked MOBILE token can neither book under another channel's idempotency keys nor
    read another channel's payments."""
    with client_as(container, SUPERUSER) as setup:
        account = open_account(setup)
        sepa = setup.post(
            "/v1/transactions",
            json=message(debtor=iban("NL"), creditor=account, amount="5.00", channel="SEPA"),
        ).json()["transactionId"]
    project(container)
    assert setup_reads(container, sepa) == 200
    mobile = auth(issuer.issue("service:mobile", ["channel"], 300, channels=["MOBILE"]))
    other = app_client.post(
        "/v1/transactions",
        json=message(debtor=iban("NL"), creditor=account, amount="5.00", channel="SEPA"),
        headers=mobile,
    )
    assert other.status_code == 403
    assert "may submit for channels MOBILE only, not SEPA" in other.json()["detail"]
    assert app_client.get(f"/v1/transactions/{sepa}", headers=mobile).status_code == 404
    unbound = auth(issuer.issue("service:legacy", ["channel"], 300))
    refused = app_client.post(
        "/v1/transactions", json=message(creditor=account, channel="MOBILE"), headers=unbound
    )
    assert refused.status_code == 403
    assert "channels none only" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("subject", "roles", "ttl", "status", "detail"),
    [
        ("service:mobile", ["channel", "admin"], 300, 403, "cannot carry staff roles"),
        ("user:nobody", ["viewer"], 300, 403, "not registered"),
        ("service:mobile", ["channel"], -60, 401, "expired"),
    ],
)
def test_refused_tokens(
    app_client: TestClient,
    issuer: LocalIssuer,
    subject: str,
    roles: list[str],
    ttl: int,
    status: int,
    detail: str,
) -> None:
    response = app_client.post(
        "/v1/transactions", json={}, headers=auth(issuer.issue(subject, roles, ttl))
    )
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_a_token_of_another_issuer_is_refused(
    app_client: TestClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stranger = LocalIssuer(
        tmp_path_factory.mktemp("other"), "backoffice-ledger-local", "backoffice-ledger"
    )
    response = app_client.post(
        "/v1/transactions",
        json={},
        headers=auth(stranger.issue("service:mobile", ["channel"], 300)),
    )
    assert response.status_code == 401
    assert "unknown signing key" in response.json()["detail"]


def test_graphiql_page_is_served_without_a_token_in_development(app_client: TestClient) -> None:
    page = app_client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    query = app_client.get("/graphql", params={"query": "{ accounts { edges { cursor } } }"})
    assert query.status_code == 401


def test_health_and_metrics_are_public_by_default(app_client: TestClient) -> None:
    assert app_client.get("/healthz").status_code == 200
    assert app_client.get("/readyz").status_code == 200
    assert app_client.get("/metrics").status_code == 200


def test_metrics_can_be_restricted_to_the_monitoring_role(
    container: Container, settings: Settings, issuer: LocalIssuer
) -> None:
    container.settings = settings.updated(auth=replace(settings.auth, metrics_public=False))
    with TestClient(create_app(container)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 401
        channel = issuer.issue("service:mobile", ["channel"], 300)
        assert client.get("/metrics", headers=auth(channel)).status_code == 403
        scraper = issuer.issue("service:prometheus", ["monitoring"], 300)
        scraped = client.get("/metrics", headers=auth(scraper))
        assert scraped.status_code == 200
        assert "ledger_http_requests_total" in scraped.text


def test_a_browser_get_with_a_query_needs_a_token(app_client: TestClient) -> None:
    for query in (
        "{ __typename }",
        "{ __schema { types { name } } }",
        "{ accounts { edges { cursor } } }",
    ):
        response = app_client.get(
            "/graphql", params={"query": query}, headers={"accept": "text/html"}
        )
        assert response.status_code == 401, (query, response.text)


def test_production_serves_no_api_description(container: Container, settings: Settings) -> None:
    container.settings = settings.updated(
        env="production",
        auth=replace(settings.auth, jwks_file=settings.data_dir / "none.json"),
    )
    with TestClient(create_app(container)) as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
        assert client.get("/healthz").status_code == 200


def test_production_refuses_tokens_that_live_longer_than_the_maximum(
    container: Container, settings: Settings, issuer: LocalIssuer
) -> None:
    """A stolen token must not work for a year: production caps exp - iat (60 min by
    default, LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES), development does not."""
    issuer.ensure_keys()
    production = settings.updated(
        env="production",
        auth=replace(settings.auth, jwks_file=issuer.jwks_path, max_token_lifetime_minutes=60),
    )
    long_lived = issuer.issue("service:mobile", ["channel"], 24 * 3600, channels=["MOBILE"])
    short = issuer.issue("service:mobile", ["channel"], 30 * 60, channels=["MOBILE"])
    with TestClient(create_app(container)) as development:
        assert (
            development.post("/v1/transactions", json={}, headers=auth(long_lived)).status_code
            == 422
        )
    container.settings = production
    with TestClient(create_app(container)) as client:
        refused = client.post("/v1/transactions", json={}, headers=auth(long_lived))
        assert refused.status_code == 401, refused.text
        assert "exceeds the maximum of 3600 s" in refused.json()["detail"]
        accepted = client.post("/v1/transactions", json={}, headers=auth(short))
        assert accepted.status_code == 422, accepted.text  # authenticated; the body is empty


def setup_reads(container: Container, transaction_id: str) -> int:
    with client_as(container, SUPERUSER) as client:
        return client.get(f"/v1/transactions/{transaction_id}").status_code


def test_there_is_no_graphql_websocket(app_client: TestClient) -> None:
    from starlette.testclient import WebSocketDenialResponse

    for protocol in ("graphql-transport-ws", "graphql-ws"):
        with (
            pytest.raises(WebSocketDenialResponse),
            app_client.websocket_connect("/graphql", subprotocols=[protocol]),
        ):
            pass
