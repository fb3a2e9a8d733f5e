"""GraphQL hardening: document limits (depth, tokens, aliases), page size, and what production
turns off (introspection, GraphiQL, queries over GET)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import get_introspection_query

from api.graphql.common import MAX_PAGE
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import ROLE_PERMISSIONS, Principal
from tests.e2e.conftest import client_as, gql, gql_errors, open_account, project

# Every role, given directly: these tests are about limits, not about who may call.
EVERY_ROLE = Principal(name="user:hardening", roles=frozenset(ROLE_PERMISSIONS))

NO_SUCH_TX = "00000000-0000-0000-0000-000000000000"
INTROSPECTION = "{ __schema { queryType { name } } }"
TYPE_INTROSPECTION = '{ __type(name: "Account") { fields { name } } }'


def nested(levels: int) -> str:
    """``transaction { reverses { reverses { ... { id } } } }`` with ``levels`` reverses."""
    selection = "id"
    for _ in range(levels):
        selection = f"reverses {{ {selection} }}"
    return f'{{ transaction(id: "{NO_SUCH_TX}") {{ {selection} }} }}'


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: trialBalance {{ asOf }}" for i in range(count)) + " }"


def messages(errors: list[dict[str, Any]]) -> str:
    return " | ".join(str(error["message"]) for error in errors)


@pytest.fixture
def configured(container: Container, settings: Settings) -> Iterator[Any]:
    """Build a client over ``settings`` with some fields changed."""
    opened: list[TestClient] = []

    def build(**changes: Any) -> TestClient:
        container.settings = settings.updated(**changes)
        client = client_as(container, EVERY_ROLE)
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


# --------------------------------------------------------------------------- depth


def test_default_depth_limit_is_12(client: TestClient) -> None:
    assert gql(client, nested(11)) == {"transaction": None}
    errors = gql_errors(client, nested(12))
    assert "exceeds maximum operation depth of 12" in messages(errors)


def test_depth_limit_comes_from_the_settings(configured: Any) -> None:
    client = configured(graphql={"max_depth": 3})
    assert gql(client, nested(2)) == {"transaction": None}
    errors = gql_errors(client, nested(3))
    assert "exceeds maximum operation depth of 3" in messages(errors)


# --------------------------------------------------------------------------- tokens


def test_default_token_limit_is_2000(client: TestClient) -> None:
    # "trialBalance { asOf }" is 4 tokens; the braces around the document add 2.
    within = "{ " + " ".join("trialBalance { asOf }" for _ in range(399)) + " }"  # 1598
    assert "trialBalance" in gql(client, within)
    beyond = "{ " + " ".join("trialBalance { asOf }" for _ in range(500)) + " }"  # 2002
    errors = gql_errors(client, beyond)
    assert "Document contains more than 2000 tokens. Parsing aborted." in messages(errors)


def test_token_limit_comes_from_the_settings(configured: Any) -> None:
    client = configured(graphql={"max_tokens": 100})
    assert gql(client, "{ " + "trialBalance { asOf } " * 20 + "}")  # 82 tokens
    errors = gql_errors(client, "{ " + "trialBalance { asOf } " * 30 + "}")
    assert "more than 100 tokens" in messages(errors)


# --------------------------------------------------------------------------- aliases


def test_default_alias_limit_is_15(client: TestClient) -> None:
    assert len(gql(client, aliased(15))) == 15
    errors = gql_errors(client, aliased(16))
    assert "16 aliases found. Allowed: 15" in messages(errors)


def test_alias_limit_comes_from_the_settings(configured: Any) -> None:
    client = configured(graphql={"max_aliases": 2})
    assert len(gql(client, aliased(2))) == 2
    errors = gql_errors(client, aliased(3))
    assert "3 aliases found. Allowed: 2" in messages(errors)
    # Aliases hidden in fragments count as well.
    fragment = "fragment F on Query { x: trialBalance { asOf } y: trialBalance { asOf } }"
    errors = gql_errors(client, "{ z: trialBalance { asOf } ...F } " + fragment)
    assert "3 aliases found" in messages(errors)


# --------------------------------------------------------------------------- page size


@pytest.mark.parametrize(
    "field",
    ["accounts", "transactions", "auditTrail", "fraudCases"],
)
def test_first_above_the_maximum_is_refused_not_clamped(client: TestClient, field: str) -> None:
    query = f"query($first: Int) {{ {field}(first: $first) {{ edges {{ cursor }} }} }}"
    assert gql(client, query, {"first": MAX_PAGE}) == {field: {"edges": []}}
    for wrong in (MAX_PAGE + 1, 0, -1):
        errors = gql_errors(client, query, {"first": wrong})
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], errors
        assert f"first: must be between 1 and {MAX_PAGE}, got {wrong}" == errors[0]["message"]


def test_nested_postings_page_is_bounded_too(client: TestClient, container: Container) -> None:
    account = open_account(client)
    project(container)
    query = (
        "query($id: String!, $first: Int) { account(id: $id) "
        "{ postings(first: $first) { edges { cursor } } } }"
    )
    assert gql(client, query, {"id": account, "first": MAX_PAGE})
    errors = gql_errors(client, query, {"id": account, "first": MAX_PAGE + 1})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


# --------------------------------------------------------------------------- production


def test_development_serves_graphiql_and_introspection(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert gql(client, INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}
    assert "holderName" in str(gql(client, TYPE_INTROSPECTION))
    over_get = client.get("/graphql", params={"query": "{ trialBalance { asOf } }"})
    assert over_get.status_code == 200, over_get.text


def test_the_full_introspection_query_fits_the_default_limits(client: TestClient) -> None:
    # What GraphiQL and code generators send: deep (ofType nesting) and long.
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    schema = gql(client, query)["__schema"]
    assert {"Account", "Transaction"} <= {t["name"] for t in schema["types"]}


def test_production_refuses_introspection(configured: Any) -> None:
    client = configured(env="production")
    for query in (INTROSPECTION, TYPE_INTROSPECTION):
        errors = gql_errors(client, query)
        assert "GraphQL introspection has been disabled" in messages(errors), errors
        assert "holderName" not in str(errors)
    # Ordinary queries still work.
    assert gql(client, "{ accounts { edges { cursor } } }") == {"accounts": {"edges": []}}


def test_production_does_not_serve_graphiql_or_queries_over_get(configured: Any) -> None:
    client = configured(env="production")
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404, page.text
    assert "graphiql" not in page.text.lower()
    over_get = client.get("/graphql", params={"query": "{ trialBalance { asOf } }"})
    assert over_get.status_code == 400
    assert over_get.text == "queries are not allowed when using GET"
