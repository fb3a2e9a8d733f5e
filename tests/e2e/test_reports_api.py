"""The reports over GraphQL and REST: the catalogue, a report's keyset pages (bounded
``first``), a parameter error naming the parameter, the CSV download (streamed) equal to the
pages and to itself, the XLSX download with its sha256, and each download recorded as a run."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from fastapi.testclient import TestClient

from api.runtime.bootstrap import Container
from api.security import Principal
from application.reports.catalogue import REPORTS
from domain.identity.permissions import HUMAN_ROLES, ROLE_PERMISSIONS
from tests.builders import FakeClock, iban
from tests.e2e.conftest import client_as, fund, gql, gql_errors, open_account, pay, project

PAGE = """query($name: String!, $asOf: DateTime!, $params: [ReportParam!], $first: Int,
  $after: String) {
  report(name: $name, asOf: $asOf, params: $params, first: $first, after: $after) {
    edges { cursor node { values } } pageInfo { hasNextPage endCursor } } }"""


def seed(client: TestClient, container: Container, clock: FakeClock) -> str:
    a = open_account(client)
    b = open_account(client, currency="USD")
    fund(client, a, "20000.00")
    clock.advance(3600)
    pay(client, debtor=a, creditor=iban("FR"), amount="12.00")
    fund(client, b, "300.00", currency="USD")
    clock.advance(3600)
    project(container)
    return clock.now.isoformat()


def pages(client: TestClient, variables: dict[str, Any]) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    after = None
    while True:
        data = gql(client, PAGE, {**variables, "after": after})["report"]
        rows += [edge["node"]["values"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return rows
        after = data["pageInfo"]["endCursor"]


def test_catalogue_pages_and_downloads(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    as_of = seed(client, container, clock)
    names = [r["name"] for r in gql(client, "{ reports { name parameters { name } } }")["reports"]]
    assert names == list(REPORTS)
    assert [r["name"] for r in client.get("/v1/reports").json()] == names

    params = [{"name": "from", "value": "2026-11-23"}, {"name": "to", "value": "2026-11-23"}]
    variables = {"name": "journal", "asOf": as_of, "params": params, "first": 2}
    journal = pages(client, variables)
    assert len(journal) == 6  # three payments, two legs each

    response = client.get(
        "/v1/reports/journal", params={"asOf": as_of, "from": "2026-11-23", "to": "2026-11-23"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[1:] == [[v or "" for v in row] for row in journal]
    again = client.get(
        "/v1/reports/journal", params={"to": "2026-11-23", "from": "2026-11-23", "asOf": as_of}
    )
    assert again.content == response.content

    tb = pages(client, {"name": "trial_balance", "asOf": as_of, "first": 3})
    totals = [row for row in tb if row[1] == "TOTAL"]
    assert [(t[0], t[6], t[7]) for t in totals] == [
        ("EUR", "0.00", "balanced"),
        ("USD", "0.00", "balanced"),
    ]

    xlsx = client.get("/v1/reports/trial_balance", params={"asOf": as_of, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert xlsx.headers["x-content-sha256"] == hashlib.sha256(xlsx.content).hexdigest()

    project(container)
    trail = container.queries.audit_trail(first=50, contexts={"reports"})
    hashes = [view.payload["content_hash"] for _, view in trail.edges]
    assert hashes[0] == hashes[1] == hashlib.sha256(response.content).hexdigest()
    assert hashes[2] == xlsx.headers["x-content-sha256"]
    assert {view.channel for _, view in trail.edges} == {"REST"}


def test_bad_requests_name_what_is_wrong(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    as_of = seed(client, container, clock)
    missing = gql_errors(client, PAGE, {"name": "journal", "asOf": as_of, "first": 5})
    assert missing[0]["message"] == "from: is required"
    assert missing[0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = gql_errors(client, PAGE, {"name": "nope", "asOf": as_of})
    assert unknown[0]["extensions"]["code"] == "NOT_FOUND"
    too_many = gql_errors(client, PAGE, {"name": "trial_balance", "asOf": as_of, "first": 10_000})
    assert "first" in too_many[0]["message"]
    future = gql_errors(client, PAGE, {"name": "trial_balance", "asOf": "2200-01-01T00:00:00Z"})
    assert future[0]["message"].startswith("asOf:")

    bad = client.get("/v1/reports/journal", params={"asOf": as_of, "from": "x", "to": "y"})
    assert bad.status_code == 422 and "from" in bad.text
    assert client.get("/v1/reports/nope", params={"asOf": as_of}).status_code == 404
    assert client.get("/v1/reports/trial_balance").status_code == 422  # asOf is required
    odd = client.get("/v1/reports/trial_balance", params={"asOf": as_of, "format": "camt053"})
    assert odd.status_code == 422 and "format" in odd.text


def test_each_report_needs_its_own_permission(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    """Every report as every human role: refused (GraphQL FORBIDDEN, REST 403) exactly when
    the role lacks the report's permission (customer statements: accounts:read)."""
    as_of = seed(client, container, clock)
    account = open_account(client)
    project(container)
    values = {"from": "2026-11-23", "to": "2026-11-23", "account": account}
    assert REPORTS["customer_statement"].permission == "accounts:read"
    for role in sorted(HUMAN_ROLES):
        principal = Principal(f"user:{role}-holder", frozenset({role}))
        with client_as(container, principal) as caller:
            for spec in REPORTS.values():
                params = {p.name: values[p.name] for p in spec.parameters if p.required}
                allowed = spec.permission in ROLE_PERMISSIONS[role]
                variables = {
                    "name": spec.name,
                    "asOf": as_of,
                    "first": 5,
                    "params": [{"name": k, "value": v} for k, v in params.items()],
                }
                body = caller.post("/graphql", json={"query": PAGE, "variables": variables}).json()
                codes = [e["extensions"]["code"] for e in body.get("errors") or []]
                assert (codes == ["FORBIDDEN"]) != allowed, (role, spec.name, body)
                rest = caller.get(f"/v1/reports/{spec.name}", params={"asOf": as_of, **params})
                assert (rest.status_code == 403) != allowed, (role, spec.name, rest.text)
                if allowed:
                    assert rest.status_code == 200 and not codes, (role, spec.name)


def test_a_report_waits_for_read_models_behind_the_ledger(
    client: TestClient, container: Container, clock: FakeClock, monkeypatch: Any
) -> None:
    """A payment the projector has not applied yet would be missing from a report as of now:
    the report answers 503 (retry) instead of an incomplete file, and the full one once the read
    models caught up."""
    as_of = seed(client, container, clock)
    monkeypatch.setattr("api.runtime.reports_context.READ_MODEL_WAIT", 0.2)
    a = open_account(client)
    fund(client, a, "50.00")  # recorded, not projected
    query = {"asOf": clock.now.isoformat(), "from": "2026-11-23", "to": "2026-11-23"}
    behind = client.get("/v1/reports/journal", params=query)
    assert behind.status_code == 503, behind.text
    params = [{"name": "from", "value": "2026-11-23"}, {"name": "to", "value": "2026-11-23"}]
    variables = {"name": "journal", "asOf": as_of, "params": params, "first": 5}
    (error,) = gql_errors(client, PAGE, variables)
    assert error["extensions"]["code"] == "UNAVAILABLE", error
    project(container)
    assert client.get("/v1/reports/journal", params=query).status_code == 200
