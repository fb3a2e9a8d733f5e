"""GraphQL cost limits over HTTP: the penetration test's query refused before any resolver runs,
nested page sizes bounded, the deadline, the per-principal concurrency limit, and no "Did you
mean" where introspection is off (issue #12, items 2 and 7).

The latency of other requests while an expensive query runs needs a real server:
tests/e2e/test_graphql_isolation.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import ROLE_PERMISSIONS, HasHeaders, Principal
from tests.e2e.conftest import client_as, gql, open_account, project
from tests.unit.test_graphql_cost import ATTACK

VIEWER = Principal(name="user:vic", roles=frozenset({"viewer"}))
SUPER = Principal(name="user:dev", roles=frozenset(ROLE_PERMISSIONS))
CHEAP = "{ trialBalance { totals { currency } } }"


def by_header(request: HasHeaders) -> Principal:
    """The principal named in ``X-Test-Principal`` (every role)."""
    name = request.headers.get("x-test-principal", "user:a")
    return Principal(name=name, roles=frozenset(ROLE_PERMISSIONS))


def post(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


class Calls:
    """Counts the calls of read-model queries (to show what ran), optionally slowed down or
    held until released (a slow or busy database)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def wrap(
        self, fn: Callable[..., Any], *, delay: float = 0.0, hold: bool = False
    ) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.count += 1
            if delay:
                time.sleep(delay)
            if hold:
                assert self.release.wait(30), "never released"
            return fn(*args, **kwargs)

        return wrapped

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while self.count < count:
            assert time.monotonic() < deadline, f"{self.count} of {count} calls after 30 s"
            time.sleep(0.01)


@pytest.fixture
def calls(container: Container, monkeypatch: pytest.MonkeyPatch) -> Calls:
    counter = Calls()
    queries = container.queries
    for name in ("accounts", "postings", "transactions_by_ids", "accounts_by_keys"):
        monkeypatch.setattr(queries, name, counter.wrap(getattr(queries, name)))
    return counter


@pytest.fixture
def configured(container: Container, settings: Settings) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def build(principal: Principal | None = None, **changes: Any) -> TestClient:
        container.settings = settings.updated(**changes)
        if principal is None:
            client = TestClient(create_app(container, principal_resolver=by_header))
        else:
            client = client_as(container, principal)
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


# --------------------------------------------------------------------------- cost


def test_the_pentest_query_is_refused_before_any_resolver_runs(
    configured: Callable[..., TestClient], calls: Calls
) -> None:
    viewer = configured(VIEWER)
    body = post(viewer, ATTACK)
    assert body["data"] is None
    errors = body["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"QUERY_TOO_EXPENSIVE"}
    costs = [e for e in errors if e["message"].startswith("query cost")]
    assert len(costs) == 1
    assert costs[0]["message"].startswith("query cost 6180906 exceeds the limit 50000")
    assert costs[0]["extensions"] == {
        "code": "QUERY_TOO_EXPENSIVE",
        "cost": 6180906,
        "limit": 50000,
    }
    nested = [e["message"] for e in errors if not e["message"].startswith("query cost")]
    assert nested and all("first 100 is above 50" in m for m in nested)
    assert calls.count == 0  # not one read-model query


def test_within_the_limits_a_nested_query_is_served(
    client: TestClient, container: Container, calls: Calls
) -> None:
    for _ in range(3):
        open_account(client)
    project(container)
    query = (
        "query($n: Int) { accounts(first: $n) "
        "{ edges { node { postings(first: $n) { edges { cursor } } } } } }"
    )
    served = post(client, query, {"n": 50})
    assert len(served["data"]["accounts"]["edges"]) == 3
    refused = post(client, query, {"n": 51})  # the same document: the variables decide
    assert refused["data"] is None
    assert refused["errors"][0]["message"].startswith("postings: first 51 is above 50")


def test_the_cost_limit_comes_from_the_settings(
    configured: Callable[..., TestClient], calls: Calls
) -> None:
    client = configured(graphql={"max_cost": 100, "max_nested_page": 5})
    query = (
        "{ accounts(first: %d) { edges { node { id postings(first: %d) { edges { cursor } } } } } }"
    )
    assert "errors" not in post(client, query % (2, 5))  # 2 + 2*4 + 10*1 = 20
    body = post(client, query % (10, 5))  # 2 + 10*4 + 50 = 92
    assert "errors" not in body, body
    body = post(client, query % (12, 5))  # 2 + 12*4 + 60 = 110
    assert [e["message"].split(":")[0] for e in body["errors"]] == [
        "query cost 110 exceeds the limit 100"
    ]
    body = post(client, query % (2, 6))
    assert body["errors"][0]["message"].startswith("postings: first 6 is above 5")
    calls_before = calls.count
    assert calls_before > 0  # the served ones ran
    post(client, query % (12, 5))
    assert calls.count == calls_before  # the refused one did not


# --------------------------------------------------------------------------- deadline


def test_a_query_past_its_deadline_is_cancelled(
    configured: Callable[..., TestClient], container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = configured(graphql={"deadline_seconds": 0.5})
    for _ in range(9):
        open_account(client)
    project(container)
    slow = Calls()  # a slow read model: every account's postings take 0.2 s
    monkeypatch.setattr(
        container.queries, "postings", slow.wrap(container.queries.postings, delay=0.2)
    )
    body = post(client, "{ accounts { edges { node { postings { edges { cursor } } } } } }")
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "query ran longer than the deadline of 0.5 s "
            "(LEDGER_GRAPHQL_DEADLINE_SECONDS) and was cancelled",
            "extensions": {"code": "DEADLINE_EXCEEDED"},
        }
    ]
    assert slow.count < 9  # cancelled before it read every account's postings
    # and the server goes on: a cheap query answers (on a loaded machine even a cheap query
    # can pass the tiny 0.5 s deadline once, so a few tries)
    answers = [post(client, CHEAP)]
    while "errors" in answers[-1] and len(answers) < 5:
        answers.append(post(client, CHEAP))
    assert "errors" not in answers[-1], answers
    metrics = client.get("/metrics").text
    deadlines = 1 + sum("errors" in answer for answer in answers)
    assert f'ledger_graphql_errors_total{{code="DEADLINE_EXCEEDED"}} {deadlines}.0' in metrics


# --------------------------------------------------------------------------- concurrency


def test_a_principal_may_run_only_so_many_queries_at_once(
    configured: Callable[..., TestClient], container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = configured(graphql={"max_concurrent": 2})
    busy = Calls()  # a busy database: the accounts query waits until released
    monkeypatch.setattr(
        container.queries, "accounts", busy.wrap(container.queries.accounts, hold=True)
    )
    query = {"query": "{ accounts { edges { cursor } } }"}

    def as_user(who: str, body: dict[str, Any]) -> Any:
        return client.post("/graphql", json=body, headers={"x-test-principal": who})

    answers: list[Any] = []
    held = [
        threading.Thread(target=lambda: answers.append(as_user("user:a", query))) for _ in range(2)
    ]
    for thread in held:
        thread.start()
    try:
        busy.wait_for(2)
        third = as_user("user:a", {"query": CHEAP})
        assert third.status_code == 429, third.text
        assert third.headers["Retry-After"] == "1"
        assert (
            "too many concurrent GraphQL requests for user:a: at most 2 at a time"
            in (third.json()["detail"])
        )
        other = as_user("user:b", {"query": CHEAP})  # another principal is not held up
        assert other.status_code == 200 and "errors" not in other.json(), other.text
    finally:
        busy.release.set()
        for thread in held:
            thread.join(30)
    assert [a.status_code for a in answers] == [200, 200]
    assert all("errors" not in a.json() for a in answers)
    assert as_user("user:a", {"query": CHEAP}).status_code == 200  # slots given back


# --------------------------------------------------------------------------- suggestions

MISSPELLED: list[tuple[str, dict[str, Any], str]] = [
    ('{ acount(id: "x") { id } }', {}, "'account'"),  # a field
    ("{ accounts(frist: 1) { edges { cursor } } }", {}, "'first'"),  # an argument
    (  # a type
        "query($f: TransactionFiltr) { transactions(filter: $f) { edges { cursor } } }",
        {},
        "'TransactionFilter'",
    ),
    ("{ accounts(status: OPN) { edges { cursor } } }", {}, "'OPEN'"),  # an enum value
    (  # an enum value in the variables
        "query($s: AccountStatus) { accounts(status: $s) { edges { cursor } } }",
        {"s": "OPN"},
        "'OPEN'",
    ),
    (  # an input field in the variables
        "query($f: TransactionFilter) { transactions(filter: $f) { edges { cursor } } }",
        {"f": {"chanel": "SEPA"}},
        "'channel'",
    ),
]


def messages(client: TestClient, query: str, variables: dict[str, Any]) -> str:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    errors = response.json()["errors"]
    assert errors, response.text
    return " | ".join(str(e["message"]) for e in errors)


@pytest.mark.parametrize(("query", "variables", "name"), MISSPELLED)
def test_production_suggests_no_names(
    configured: Callable[..., TestClient], query: str, variables: dict[str, Any], name: str
) -> None:
    development = messages(configured(SUPER), query, variables)
    assert f"Did you mean {name}" in development or f"Did you mean the enum value {name}" in (
        development
    )  # development suggests (introspection shows every name there anyway)
    production = messages(configured(SUPER, env="production"), query, variables)
    assert "Did you mean" not in production
    assert name not in production, production


def test_production_still_says_what_is_wrong(configured: Callable[..., TestClient]) -> None:
    production = configured(SUPER, env="production")
    errors = production.post("/graphql", json={"query": '{ acount(id: "x") { id } }'}).json()[
        "errors"
    ]
    assert [e["message"] for e in errors] == ["Cannot query field 'acount' on type 'Query'."]
    assert gql(production, CHEAP)
