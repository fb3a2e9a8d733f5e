"""The poison-input suite over the real app (issue #12, "It must show" 2; items 1(a), 3, 6).

A table of hostile inputs (deep, huge, NaN, overflowing, garbage, oversized, wrong types) is
sent through REST, GraphQL and the statement inbox, with the projector following the log in the
background as in ``ledger serve``. Each must be refused with a reason naming the field (REST
4xx ``detail``, GraphQL ``BAD_USER_INPUT``, ``rejected/<file>.reason``), record nothing in any
context's event log, and leave the pipeline moving: a normal payment sent afterwards reaches
every read model (the issue says within 2 s; the tests wait on the condition rather than time
it, see tests/poison_support.py). The STOMP half (JSON and pacs.008) is in
tests/broker/test_poison_inputs.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.statements import camt053
from api.runtime.bootstrap import Container
from api.runtime.reconciliation_role import statement_inbox
from api.runtime.settings import DEFAULT_MAX_BODY_BYTES, Settings
from tests.builders import iban, message
from tests.camt053_support import StatementSpec, build_camt053
from tests.e2e.conftest import SUPERUSER, client_as, open_account
from tests.poison_support import (
    BODY_100K_DEEP,
    HOSTILE_PAYMENTS,
    projector_running,
    wait_visible,
)

MAX_BODY = DEFAULT_MAX_BODY_BYTES


@pytest.fixture
def app(container: Container, settings: Settings) -> Iterator[TestClient]:
    """The app (every role) with a 64 KiB body limit and the projector running."""
    container.settings = settings.updated(http={"max_body_bytes": MAX_BODY})
    with projector_running(container), client_as(container, SUPERUSER) as client:
        # raise_server_exceptions off: a 500 must show as the status a client would see
        client_no_raise = TestClient(client.app, raise_server_exceptions=False)
        yield client_no_raise


@pytest.fixture
def creditor(app: TestClient, container: Container) -> str:
    """An account in the read models (queries about it reach the resolvers below it)."""
    account = open_account(app)
    assert container.wait_for_projections(timeout=10.0)
    return account


def pipeline_moves(app: TestClient, container: Container, creditor: str, what: str) -> None:
    """A normal payment after the hostile input is booked and reaches every read model."""
    body = message(debtor=iban("NL"), creditor=creditor, channel="SEPA")
    response = app.post("/v1/transactions", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "POSTED"
    wait_visible(container, response.json()["transactionId"], what)


def post_raw(app: TestClient, path: str, raw: bytes) -> Any:
    return app.post(path, content=raw, headers={"content-type": "application/json"})


# --------------------------------------------------------------------------- REST


@pytest.mark.parametrize(
    ("build", "field"),
    [pytest.param(build, field, id=name) for name, build, field in HOSTILE_PAYMENTS],
)
def test_rest_refuses_a_hostile_payment_naming_the_field_and_books_nothing(
    app: TestClient, container: Container, creditor: str, build: Callable[[str], bytes], field: str
) -> None:
    before = container.heads()
    response = post_raw(app, "/v1/transactions", build(creditor))
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field), response.json()
    assert container.heads() == before  # nothing half-booked, in no context
    pipeline_moves(app, container, creditor, "after a refused REST payment")


@pytest.mark.parametrize(
    ("raw", "status", "detail"),
    [
        pytest.param(BODY_100K_DEEP, 400, "request body is not valid JSON: nested", id="100k-deep"),
        pytest.param(b'{"a":' * 100_000, 400, "request body is not valid JSON", id="deep-unclosed"),
        pytest.param(b"\xff\xfe garbage", 400, "request body is not valid JSON", id="not-utf8"),
        pytest.param(b"NaN", 422, "message must be a JSON object", id="bare-NaN"),
        pytest.param(b" " * (MAX_BODY + 1), 413, "request body is larger", id="oversized"),
    ],
)
def test_rest_refuses_a_body_that_is_no_message_with_a_4xx(
    app: TestClient, container: Container, creditor: str, raw: bytes, status: int, detail: str
) -> None:
    before = container.heads()
    response = post_raw(app, "/v1/transactions", raw)
    assert response.status_code == status, response.text
    assert response.json()["detail"].startswith(detail)
    assert container.heads() == before
    pipeline_moves(app, container, creditor, "after a refused REST body")


@pytest.mark.parametrize(
    ("as_of", "detail"),
    [
        ("0001-01-01T00:00:00+01:00", "asOf: 0001-01-01T00:00:00+01:00 is not representable"),
        ("9999-12-31T23:59:59-01:00", "asOf: 9999-12-31T23:59:59-01:00 is not representable"),
        ("0001-01-01T00:00:00Z", "asOf: year 1 is outside 1900..2200"),
        ("2026-11-23T10:00:00", "asOf: Input should have timezone info"),
    ],
)
def test_rest_refuses_an_as_of_with_no_sane_utc_form_naming_it(
    app: TestClient, container: Container, creditor: str, as_of: str, detail: str
) -> None:
    for path in (
        f"/v1/accounts/{creditor}",
        f"/v1/transactions/{'0' * 8}-0000-0000-0000-{'0' * 12}",
    ):
        response = app.get(path, params={"asOf": as_of})
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith(detail)
    pipeline_moves(app, container, creditor, "after a refused asOf")


# --------------------------------------------------------------------------- GraphQL


def cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


NOW = "2026-11-23T10:00:00+00:00"
ACCOUNT_AS_OF = 'query($id: String!) { account(id: $id, asOf: "%s") { id } }'
POSTINGS_AFTER = (
    'query($id: String!) { account(id: $id) { postings(first: 5, after: "%s") '
    "{ edges { cursor } } } }"
)
OPEN = (
    'mutation($name: String!, $limit: String) { openAccount(iban: "%s", holderName: $name, '
    'currency: "EUR", overdraftLimit: $limit) { id } }'
)
AUDIT_AFTER = '{ auditTrail(after: "%s") { edges { cursor } } }'
ACCOUNTS_AFTER = '{ accounts(after: "%s") { edges { cursor } } }'

# (id, query (%s: the creditor's id where needed), variables, the field the message starts with)
HOSTILE_GRAPHQL: list[tuple[str, str, dict[str, Any], str]] = [
    ("asOf-literal-year-1-east", ACCOUNT_AS_OF % "0001-01-01T00:00:00+01:00", {}, "asOf: "),
    (
        "asOf-variable-year-9999-west",
        "query($id: ID!, $t: DateTime) { transaction(id: $id, asOf: $t) { id } }",
        {"id": "00000000-0000-0000-0000-000000000000", "t": "9999-12-31T23:59:59-01:00"},
        "asOf: Variable '$t'",
    ),
    (
        "trialBalance-asOf-year-1",
        "query($t: DateTime) { trialBalance(asOf: $t) { asOf } }",
        {"t": "0001-01-01T00:00:00Z"},
        "asOf: Variable '$t'",
    ),
    (
        "auditTrail-from-year-1",
        '{ auditTrail(from: "0001-01-01T00:00:00+01:00") { edges { cursor } } }',
        {},
        "from: ",
    ),
    (
        "filter-from-variable",
        "query($t: DateTime) { transactions(filter: {from: $t}) { edges { cursor } } }",
        {"t": "9999-12-31T23:59:59-01:00"},
        "filter.from: ",
    ),
    (
        "cursor-version-2^70",
        POSTINGS_AFTER % cursor("posting", NOW, 2**70),
        {},
        "after: invalid cursor",
    ),
    (
        "cursor-time-year-1-east",
        POSTINGS_AFTER % cursor("posting", "0001-01-01T00:00:00+01:00", 1),
        {},
        "after: invalid cursor",
    ),
    (
        "cursor-audit-position-2^70",
        AUDIT_AFTER % cursor("audit", NOW, "ledger", 2**70),
        {},
        "after: invalid cursor",
    ),
    (
        "cursor-nul-key",
        ACCOUNTS_AFTER % cursor("account", "a\u0000b"),
        {},
        "after: invalid cursor",
    ),
    (
        "openAccount-overdraft-10000-digits",
        OPEN % "DE89370400440532013000",
        {"name": "Max", "limit": "9" * 10_000},
        "overdraftLimit: amount '99999",
    ),
]


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [pytest.param(q, v, f, id=name) for name, q, v, f in HOSTILE_GRAPHQL],
)
def test_graphql_refuses_a_hostile_argument_as_bad_user_input_naming_it(
    app: TestClient,
    container: Container,
    creditor: str,
    query: str,
    variables: dict[str, Any],
    field: str,
) -> None:
    before = container.heads()
    response = app.post(
        "/graphql",
        json={
            "query": query,
            "variables": {"id": creditor} | variables if "$id: String" in query else variables,
        },
    )
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["message"].startswith(field), error["message"]
    assert container.heads() == before
    pipeline_moves(app, container, creditor, "after a refused GraphQL argument")


FIRST = "query($first: Int) { accounts(first: $first) { edges { cursor } } }"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            b'{"query": "%s", "variables": {"first": %s}}' % (FIRST.encode(), b"9" * 10_000),
            "variables.first: a number of 10000 digits (at most 40)",
            id="variable-10000-digits",
        ),
        pytest.param(
            b'{"query": "%s", "variables": {"first": NaN}}' % FIRST.encode(),
            "variables.first: NaN is not valid JSON",
            id="variable-NaN",
        ),
        pytest.param(
            b'{"query": "%s", "variables": {"first": 1e999}}' % FIRST.encode(),
            "variables.first: 1e999 is out of range (not a finite number)",
            id="variable-1e999",
        ),
        pytest.param(
            b'{"query": "%s", "variables": %s}' % (FIRST.encode(), BODY_100K_DEEP),
            "request body is not valid JSON: nested too deeply",
            id="100k-deep",
        ),
        pytest.param(
            json.dumps({"query": OPEN % iban("DE"), "variables": {"name": "M\ud800"}}).encode(),
            "variables.name: not valid Unicode (lone surrogate)",
            id="variable-lone-surrogate",
        ),
    ],
)
def test_graphql_refuses_a_body_it_cannot_read_with_400_bad_user_input_naming_where(
    app: TestClient, container: Container, creditor: str, raw: bytes, message: str
) -> None:
    before = container.heads()
    response = post_raw(app, "/graphql", raw)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error == {"message": message, "extensions": {"code": "BAD_USER_INPUT"}}
    assert container.heads() == before
    pipeline_moves(app, container, creditor, "after a refused GraphQL body")


# --------------------------------------------------------------------------- statement inbox


def statement(account: str, created_at: str | None = None) -> bytes:
    """A camt.053 of ``account`` with no entries (balance 0), optionally with a raw CreDtTm."""
    day = datetime(2026, 11, 23, tzinfo=UTC).date()
    spec = StatementSpec(
        account=account, currency="EUR", from_date=day, to_date=day, closing=Decimal("0.00")
    )
    data = build_camt053(spec)
    if created_at is not None:
        data = data.replace(b"2026-11-24T02:00:00+00:00", created_at.encode())
        assert created_at.encode() in data
    return data


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Document>&lol2;</Document>"""

HOSTILE_FILES: list[Any] = [
    pytest.param(lambda _a: b"\x00\xff not xml at all", "", id="garbage"),
    pytest.param(lambda _a: BILLION_LAUGHS, "DOCTYPE", id="entity-expansion"),
    pytest.param(lambda _a: b"<a>" * 100_000 + b"</a>" * 100_000, "", id="100k-deep"),
    pytest.param(lambda _a: b" " * (camt053.MAX_BYTES + 1), "the limit is", id="oversized"),
    pytest.param(
        lambda _a: b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/>',
        "",
        id="wrong-message",
    ),
    pytest.param(
        lambda account: statement(account, "0001-01-01T00:00:00+01:00"),
        "CreDtTm",
        id="CreDtTm-year-1-east",
    ),
]


@pytest.mark.parametrize(("build", "reason"), HOSTILE_FILES)
def test_the_inbox_rejects_a_hostile_statement_with_its_reason_and_goes_on(
    app: TestClient,
    container: Container,
    creditor: str,
    build: Callable[[str], bytes],
    reason: str,
) -> None:
    inbox = statement_inbox(container)
    inbox.directory.mkdir(parents=True, exist_ok=True)
    before = container.heads()
    (inbox.directory / "a-hostile.xml").write_bytes(build(creditor))
    assert inbox.step() == 1
    assert (inbox.rejected / "a-hostile.xml").exists()
    written = (inbox.rejected / "a-hostile.xml.reason").read_text()
    assert written.strip() and reason in written
    assert container.heads() == before  # no import recorded

    (inbox.directory / "b-good.xml").write_bytes(statement(creditor))
    assert inbox.step() == 1
    assert (inbox.processed / "b-good.xml").exists()
    assert container.reconciliation_queries is not None
    pipeline_moves(app, container, creditor, "after a rejected statement")
    page = container.reconciliation_queries.reconciliations(None, 5, None)
    assert [view.account for _cursor, view in page.edges] == [creditor]
