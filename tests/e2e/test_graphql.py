"""GraphQL end to end: every query and mutation of the issue, over real booked data."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.graphql.schema import UNEXPECTED_MESSAGE
from api.http.app import create_app
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import Principal
from tests.builders import FakeClock, iban
from tests.e2e.conftest import (
    APPROVE,
    CHECKER,
    SUPERUSER,
    approve_as,
    change_account,
    client_as,
    fund,
    gql,
    gql_errors,
    open_account,
    pay,
    project,
)

ACCOUNT = """
query Account($id: String!, $asOf: DateTime, $first: Int, $after: String) {
  account(id: $id, asOf: $asOf) {
    id iban holderName currency status type asOf
    balance { amount currency }
    availableBalance { amount currency }
    held { amount }
    overdraftLimit { amount }
    postings(first: $first, after: $after) {
      edges { cursor node { transactionId amount { amount } balanceAfter { amount } recordedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

TRANSACTION = """
query Tx($id: ID!, $asOf: DateTime) {
  transaction(id: $id, asOf: $asOf) {
    id externalId channel status reference receivedAt rejectionReason asOf
    amount { amount currency }
    debtor { iban name account { id balance { amount } } }
    creditor { iban name }
    statusHistory { status at reason }
    reverses { id status }
    reversedBy { id status channel }
  }
}
"""

REVERSE = """
mutation($id: ID!, $reason: String!) { reverseTransaction(id: $id, reason: $reason) { id } }
"""

OPEN = """
mutation Open($iban: String!, $name: String!, $currency: String!, $limit: String) {
  openAccount(iban: $iban, holderName: $name, currency: $currency, overdraftLimit: $limit) {
    id iban holderName currency status type balance { amount currency }
    overdraftLimit { amount }
  }
}
"""


def codes(errors: list[dict[str, Any]]) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in errors]


# --------------------------------------------------------------------------- mutations


def test_open_account_mutation(client: TestClient, container: Container) -> None:
    data = gql(
        client,
        OPEN,
        {
            "iban": "FR14 2004 1010 0505 0001 3M02 606",
            "name": "Marie Dupont",
            "currency": "EUR",
            "limit": "250.00",
        },
    )
    account = data["openAccount"]
    assert account == {
        "id": "FR1420041010050500013M02606",
        "iban": "FR1420041010050500013M02606",
        "holderName": "Marie Dupont",
        "currency": "EUR",
        "status": "OPEN",
        "type": "CUSTOMER",
        "balance": {"amount": "0.00", "currency": "EUR"},
        "overdraftLimit": {"amount": "250.00"},
    }
    project(container)
    again = gql(client, ACCOUNT, {"id": "FR1420041010050500013M02606"})["account"]
    assert again["holderName"] == "Marie Dupont"


def test_open_account_errors(client: TestClient) -> None:
    args = {"iban": "DE89370400440532013000", "name": "Max", "currency": "EUR"}
    gql(client, OPEN, args)
    duplicate = gql_errors(client, OPEN, args)
    assert codes(duplicate) == ["ALREADY_EXISTS"]
    assert "already open" in duplicate[0]["message"]
    invalid = gql_errors(client, OPEN, {**args, "iban": "DE89370400440532013001"})
    assert codes(invalid) == ["BAD_USER_INPUT"]
    assert invalid[0]["message"].startswith("iban: invalid IBAN")
    bad_limit = gql_errors(client, OPEN, {**args, "iban": iban("DE"), "limit": "abc"})
    assert "overdraftLimit: not a decimal amount" in bad_limit[0]["message"]


def test_freeze_unfreeze_close(client: TestClient, container: Container) -> None:
    account = open_account(client)
    fund(client, account, "20.00")
    request = gql(
        client,
        'mutation($id: String!) { requestAccountFreeze(id: $id, reason: "fraud suspicion") '
        "{ id kind subject status requestedBy params } }",
        {"id": account},
    )["requestAccountFreeze"]
    assert (request["kind"], request["subject"], request["status"]) == (
        "FREEZE_ACCOUNT",
        account,
        "PENDING",
    )
    assert request["requestedBy"] == "user:dev"
    assert request["params"] == {"reason": "fraud suspicion", "currency": "EUR"}
    project(container)
    still_open = gql(client, ACCOUNT, {"id": account})["account"]
    assert still_open["status"] == "OPEN"  # nothing happens before the approval
    own = gql_errors(client, APPROVE, {"id": request["id"]})
    assert codes(own) == ["REFUSED"]
    approved = approve_as(container, CHECKER, request["id"])
    assert (approved["status"], approved["decidedBy"]) == ("EXECUTED", "user:checker")
    project(container)
    frozen = gql(client, ACCOUNT, {"id": account})["account"]
    assert (frozen["status"], frozen["balance"]) == (
        "FROZEN",
        {"amount": "20.00", "currency": "EUR"},
    )
    blocked = pay(client, debtor=account, amount="5.00")
    assert (blocked["status"], blocked["reason"]) == ("REJECTED", "ACCOUNT_FROZEN")
    freeze = 'mutation($id: String!) { requestAccountFreeze(id: $id, reason: "again") { id } }'
    again = gql_errors(client, freeze, {"id": account})
    assert codes(again) == ["CONFLICT"]
    change_account(client, container, account, "cleared", unfreeze=True)
    project(container)
    assert gql(client, ACCOUNT, {"id": account})["account"]["status"] == "OPEN"
    close = 'mutation($id: String!) { closeAccount(id: $id, reason: "moved") { status } }'
    funded = gql_errors(client, close, {"id": account})
    assert codes(funded) == ["CONFLICT"]
    assert "only be closed when empty" in funded[0]["message"]
    empty = open_account(client)
    closed = gql(client, close, {"id": empty})
    assert closed["closeAccount"]["status"] == "CLOSED"
    missing = gql_errors(client, freeze, {"id": iban("DE")})
    assert codes(missing) == ["NOT_FOUND"]
    project(container)
    events = [v for _, v in container.queries.audit_trail(first=500).edges]
    frozen_events = [e for e in events if e.event_type.endswith("Frozen")]
    assert frozen_events[0].channel == "GRAPHQL"
    assert frozen_events[0].actor == "user:checker"  # the approval made it happen
    # the reason names the approved request it carries out
    assert frozen_events[0].payload["reason"] == f"fraud suspicion (request {request['id']})"


def test_reverse_transaction(client: TestClient, container: Container) -> None:
    debtor = open_account(client)
    creditor = open_account(client)
    fund(client, debtor, "100.00")
    tx = pay(client, debtor=debtor, creditor=creditor, amount="30.00")["transactionId"]
    project(container)
    reversal = gql(
        client,
        'mutation($id: ID!) { reverseTransaction(id: $id, reason: "Customer complaint") '
        "{ id channel status reference amount { amount } debtor { iban } creditor { iban } "
        "reverses { id status } } }",
        {"id": tx},
    )["reverseTransaction"]
    assert reversal["channel"] == "REVERSAL"
    assert reversal["status"] == "POSTED"
    assert reversal["reference"] == "Customer complaint"
    assert (reversal["debtor"]["iban"], reversal["creditor"]["iban"]) == (creditor, debtor)
    assert reversal["reverses"]["id"] == tx
    project(container)
    original = gql(client, TRANSACTION, {"id": tx})["transaction"]
    assert original["status"] == "REVERSED"
    assert original["reversedBy"]["id"] == reversal["id"]
    assert original["statusHistory"][-1]["status"] == "REVERSED"
    balance = gql(client, ACCOUNT, {"id": debtor})["account"]["balance"]["amount"]
    assert balance == "100.00"

    reverse = REVERSE.replace("{ id }", "{ id status }")
    twice = gql_errors(client, reverse, {"id": tx, "reason": "again"})
    assert codes(twice) == ["CONFLICT"]
    blank = gql_errors(client, reverse, {"id": tx, "reason": " "})
    assert codes(blank) == ["BAD_USER_INPUT"]
    unknown = gql_errors(
        client,
        'mutation { reverseTransaction(id: "00000000-0000-0000-0000-000000000001", '
        'reason: "x") { id } }',
    )
    assert codes(unknown) == ["NOT_FOUND"]


# --------------------------------------------------------------------------- queries


def test_account_and_transaction_as_of(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    debtor = open_account(client)
    clock.advance(60)
    fund(client, debtor, "100.00")
    clock.advance(60)
    tx = pay(client, debtor=debtor, amount="25.00")["transactionId"]
    noted = clock.advance(60)
    clock.advance(60)
    pay(client, debtor=debtor, amount="10.00")
    clock.advance(60)
    gql(client, REVERSE, {"id": tx, "reason": "refund"})
    project(container)

    now = gql(client, ACCOUNT, {"id": debtor})["account"]
    assert now["balance"]["amount"] == "90.00"
    assert now["asOf"] is None
    assert len(now["postings"]["edges"]) == 4

    then = gql(client, ACCOUNT, {"id": debtor, "asOf": noted.isoformat()})["account"]
    assert then["balance"]["amount"] == "75.00"
    assert then["asOf"].startswith(noted.isoformat()[:19])
    postings = then["postings"]["edges"]
    assert [p["node"]["amount"]["amount"] for p in postings] == ["-25.00", "100.00"]
    assert [p["node"]["balanceAfter"]["amount"] for p in postings] == ["75.00", "100.00"]

    before_open = gql(client, ACCOUNT, {"id": debtor, "asOf": "2020-01-01T00:00:00Z"})
    assert before_open["account"] is None

    current = gql(client, TRANSACTION, {"id": tx})["transaction"]
    assert current["status"] == "REVERSED"
    assert current["reversedBy"] is not None
    past = gql(client, TRANSACTION, {"id": tx, "asOf": noted.isoformat()})["transaction"]
    assert past["status"] == "POSTED"
    assert past["reversedBy"] is None
    assert [s["status"] for s in past["statusHistory"]] == ["RECEIVED", "SCREENED", "POSTED"]
    assert past["debtor"]["account"]["balance"]["amount"] == "75.00"


def test_naive_datetime_is_refused(client: TestClient) -> None:
    errors = gql_errors(client, ACCOUNT, {"id": "clearing:EUR", "asOf": "2026-11-23T10:00:00"})
    assert "time zone" in errors[0]["message"]
    literal = gql_errors(client, '{ trialBalance(asOf: "2026-11-23T10:00:00") { asOf } }')
    assert "time zone" in literal[0]["message"]


def test_accounts_keyset_pagination_walks_every_page(
    client: TestClient, container: Container
) -> None:
    opened = sorted(open_account(client) for _ in range(7))
    change_account(client, container, opened[3])
    project(container)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = gql(
            client,
            "query($after: String) { accounts(first: 3, after: $after) "
            "{ edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )["accounts"]
        pages += 1
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == opened
    assert pages == 3
    frozen = gql(client, "{ accounts(status: FROZEN) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in frozen["accounts"]["edges"]] == [opened[3]]


def test_transactions_filters_and_pagination(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    alice = open_account(client)
    bob = open_account(client)
    fund(client, alice, "1000.00")
    start = clock.advance(60)
    amounts = ["5.00", "15.00", "25.00", "35.00", "45.00"]
    for amount in amounts:
        clock.advance(1)
        pay(client, debtor=alice, creditor=bob, amount=amount, channel="ONLINE")
    end = clock.advance(60)
    clock.advance(60)
    pay(client, debtor=iban("NL"), creditor=iban("BE"), amount="7.00")  # rejected
    project(container)

    query = """
    query($filter: TransactionFilter, $first: Int, $after: String) {
      transactions(filter: $filter, first: $first, after: $after) {
        edges { cursor node { id amount { amount } status channel receivedAt } }
        pageInfo { hasNextPage endCursor }
      }
    }"""

    def walk(criteria: dict[str, Any], first: int = 2) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            page = gql(client, query, {"filter": criteria, "first": first, "after": after})
            nodes += [edge["node"] for edge in page["transactions"]["edges"]]
            if not page["transactions"]["pageInfo"]["hasNextPage"]:
                return nodes
            after = page["transactions"]["pageInfo"]["endCursor"]

    online = walk({"channel": "online"})
    assert [n["amount"]["amount"] for n in online] == list(reversed(amounts))  # newest first
    assert len({n["id"] for n in online}) == 5
    assert len(walk({"account": bob})) == 5
    assert len(walk({"account": alice})) == 6  # the funding payment too
    middle = walk({"minAmount": "15.00", "maxAmount": "35.00"})
    assert sorted(n["amount"]["amount"] for n in middle) == ["15.00", "25.00", "35.00"]
    rejected = walk({"status": "REJECTED"})
    assert [n["amount"]["amount"] for n in rejected] == ["7.00"]
    window = walk({"from": start.isoformat(), "to": end.isoformat()}, first=10)
    assert len(window) == 5
    everything = walk({}, first=3)
    assert len(everything) == 7

    bad = gql_errors(client, query, {"filter": {"minAmount": "lots"}})
    assert codes(bad) == ["BAD_USER_INPUT"]
    cursor = gql_errors(client, query, {"after": "garbage"})
    assert codes(cursor) == ["BAD_USER_INPUT"]
    assert "invalid cursor" in cursor[0]["message"]
    too_many = gql_errors(client, query, {"first": 10_000})
    assert "first: must be between 1 and" in too_many[0]["message"]


def test_audit_trail(client: TestClient, container: Container, clock: FakeClock) -> None:
    account = open_account(client)
    clock.advance(60)
    request = gql(
        client,
        'mutation($id: String!) { requestAccountFreeze(id: $id, reason: "check") { id } }',
        {"id": account},
    )["requestAccountFreeze"]
    with client_as(container, CHECKER) as checker:
        response = checker.post(
            "/graphql",
            json={"query": APPROVE, "variables": {"id": request["id"]}},
            headers={"X-Correlation-Id": "corr-audit-1"},
        )
    assert response.status_code == 200
    assert response.json()["data"]["approveChangeRequest"]["status"] == "EXECUTED"
    noted = clock.advance(60)
    clock.advance(60)
    tx = fund(client, account, "10.00")
    project(container)
    query = """
    query($stream: ID, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
      auditTrail(streamId: $stream, from: $from, to: $to, first: $first, after: $after) {
        edges { cursor node { context position streamId streamType eventType version
                recordedAt actor correlationId channel payload } }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    events: list[dict[str, Any]] = []
    after = None
    while True:
        page = gql(client, query, {"first": 2, "after": after})["auditTrail"]
        events += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(events) == len({(e["context"], e["position"]) for e in events})
    for context in ("ledger", "identity"):
        positions = [e["position"] for e in events if e["context"] == context]
        assert positions == sorted(positions), context
    approval = next(e for e in events if e["eventType"] == "ChangeRequest.Approved")
    assert (approval["context"], approval["actor"], approval["correlationId"]) == (
        "identity",
        "user:checker",
        "corr-audit-1",
    )
    frozen = next(e for e in events if e["eventType"] == "Account.Frozen")
    assert frozen["correlationId"] == "corr-audit-1"
    assert (frozen["actor"], frozen["channel"], frozen["streamType"]) == (
        "user:checker",
        "GRAPHQL",
        "Account",
    )
    assert frozen["payload"]["reason"] == f"check (request {request['id']})"

    stream = gql(client, query, {"stream": tx, "first": 50})["auditTrail"]["edges"]
    kinds = [edge["node"]["eventType"] for edge in stream]
    assert kinds == ["Transaction.Received", "Transaction.Screened", "Transaction.Posted"]
    assert {edge["node"]["version"] for edge in stream} == {1, 2, 3}
    early = gql(client, query, {"to": noted.isoformat(), "first": 50})["auditTrail"]["edges"]
    ledger_kinds = {
        edge["node"]["eventType"] for edge in early if edge["node"]["context"] == "ledger"
    }
    assert ledger_kinds == {"Account.Opened", "Account.Frozen"}


def test_trial_balance_sums_to_zero(
    client: TestClient, container: Container, clock: FakeClock
) -> None:
    eur_a, eur_b = open_account(client), open_account(client)
    pln = open_account(client, iban("DE"), currency="PLN")
    fund(client, eur_a, "500.00")
    fund(client, pln, "1000.00", currency="PLN")
    noted = clock.advance(60)
    clock.advance(60)
    pay(client, debtor=eur_a, creditor=eur_b, amount="120.00")
    pay(client, debtor=eur_a, amount="80.00")  # out to another bank via clearing
    project(container)
    query = """
    query($asOf: DateTime, $currency: String) {
      trialBalance(asOf: $asOf, currency: $currency) {
        asOf
        lines { account type currency balance { amount currency } }
        totals { currency debits { amount } credits { amount } balance { amount } }
      }
    }"""
    report = gql(client, query)["trialBalance"]
    lines = {line["account"]: line["balance"]["amount"] for line in report["lines"]}
    assert lines[eur_a] == "300.00"
    assert lines[eur_b] == "120.00"
    assert lines["clearing:EUR"] == "-420.00"
    assert lines["clearing:PLN"] == "-1000.00"
    for totals in report["totals"]:
        assert totals["balance"]["amount"] == "0.00", totals
        assert totals["debits"] == totals["credits"]
    by_currency: Counter[str] = Counter()
    for line in report["lines"]:
        by_currency[line["currency"]] += Decimal(line["balance"]["amount"])  # type: ignore[assignment]
    assert set(by_currency.values()) == {Decimal(0)}
    eur_totals = next(t for t in report["totals"] if t["currency"] == "EUR")
    assert eur_totals["debits"]["amount"] == "700.00"

    then = gql(client, query, {"asOf": noted.isoformat(), "currency": "EUR"})["trialBalance"]
    assert then["asOf"] is not None
    then_lines = {line["account"]: line["balance"]["amount"] for line in then["lines"]}
    assert then_lines[eur_a] == "500.00"
    assert then_lines[eur_b] == "0.00"
    assert {line["currency"] for line in then["lines"]} == {"EUR"}
    assert [t["balance"]["amount"] for t in then["totals"]] == ["0.00"]
    bad = gql_errors(client, '{ trialBalance(currency: "EURO") { asOf } }')
    assert codes(bad) == ["BAD_USER_INPUT"]


# --------------------------------------------------------------------------- loaders


def test_lists_resolve_related_objects_in_batches(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    debtor = open_account(client)
    fund(client, debtor, "500.00")
    for _ in range(8):
        pay(client, debtor=debtor, amount="1.00")
    project(container)
    calls: Counter[str] = Counter()
    queries = container.queries
    for name in ("status_history", "transactions_by_ids", "account", "accounts_by_keys"):
        original = getattr(queries, name)

        def counting(*args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            calls[_name] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(queries, name, counting)
    data = gql(
        client,
        """{ transactions(first: 20) { edges { node {
              statusHistory { status }
              debtor { account { id } }
              creditor { account { id } } } } } }""",
    )
    assert len(data["transactions"]["edges"]) == 9
    assert calls["status_history"] == 1
    # 18 parties (10 distinct IBANs, 2 of them ours): one batched account lookup.
    assert calls["accounts_by_keys"] == 1
    assert calls["account"] == 0
    postings = gql(
        client,
        "query($id: String!) { account(id: $id) { postings(first: 20) "
        "{ edges { node { transaction { status } } } } } }",
        {"id": debtor},
    )
    assert len(postings["account"]["postings"]["edges"]) == 9
    assert calls["transactions_by_ids"] == 1


# --------------------------------------------------------------------------- errors, security


def test_unexpected_errors_are_masked(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret connection string")

    monkeypatch.setattr(container.queries, "trial_balance", broken)
    errors = gql_errors(client, "{ trialBalance { asOf } }")
    assert errors[0]["message"] == UNEXPECTED_MESSAGE
    assert "secret" not in str(errors)


OPERATIONS = {
    "account": '{ account(id: "clearing:EUR") { id } }',
    "accounts": "{ accounts { edges { cursor } } }",
    "transaction": '{ transaction(id: "00000000-0000-0000-0000-000000000000") { id } }',
    "transactions": "{ transactions { edges { cursor } } }",
    "auditTrail": "{ auditTrail { edges { cursor } } }",
    "trialBalance": "{ trialBalance { asOf } }",
    "openAccount": 'mutation { openAccount(iban: "DE89370400440532013000", holderName: "X", '
    'currency: "EUR") { id } }',
    "closeAccount": 'mutation { closeAccount(id: "DE89370400440532013000") { id } }',
    "reverseTransaction": 'mutation { reverseTransaction(id: "00000000-0000-0000-0000-000000000000"'
    ', reason: "x") { id } }',
    "fraudCases": "{ fraudCases { edges { cursor } } }",
    "fraudCase": '{ fraudCase(id: "00000000-0000-0000-0000-000000000000") { id } }',
    "assignFraudCase": 'mutation { assignFraudCase(id: "00000000-0000-0000-0000-000000000000")'
    " { id } }",
    "decideFraudCase": 'mutation { decideFraudCase(id: "00000000-0000-0000-0000-000000000000", '
    "verdict: FALSE_POSITIVE) { id } }",
    "fraudClaims": "{ fraudClaims { edges { cursor } } }",
    "fraudClaim": '{ fraudClaim(id: "00000000-0000-0000-0000-000000000000") { id } }',
    "reportFraudClaim": 'mutation { reportFraudClaim(transactionId: "00000000-0000-0000-0000-'
    '000000000000", kind: CLAIM, reference: "R-1", statement: "s", '
    'reportedAt: "2026-12-01T00:00:00Z") { id } }',
    "withdrawFraudClaim": "mutation { withdrawFraudClaim("
    'id: "00000000-0000-0000-0000-000000000000") { id } }',
    "resolveFraudClaim": 'mutation { resolveFraudClaim(id: "00000000-0000-0000-0000-000000000000", '
    "resolution: UPHELD) { id } }",
    "users": "{ users { edges { cursor } } }",
    "user": '{ user(name: "alice") { name } }',
    "changeRequests": "{ changeRequests { edges { cursor } } }",
    "changeRequest": '{ changeRequest(id: "00000000-0000-0000-0000-000000000000") { id } }',
    "registerUser": 'mutation { registerUser(name: "olga") { name } }',
    "suspendUser": 'mutation { suspendUser(name: "olga", reason: "x") { name } }',
    "reactivateUser": 'mutation { reactivateUser(name: "olga", reason: "x") { name } }',
    "requestRoleGrant": 'mutation { requestRoleGrant(user: "olga", role: "viewer") { id } }',
    "requestRoleRevoke": 'mutation { requestRoleRevoke(user: "olga", role: "viewer") { id } }',
    "approveChangeRequest": "mutation { approveChangeRequest("
    'id: "00000000-0000-0000-0000-000000000000") { id } }',
    "rejectChangeRequest": "mutation { rejectChangeRequest("
    'id: "00000000-0000-0000-0000-000000000000", reason: "x") { id } }',
    "requestAccountFreeze": 'mutation { requestAccountFreeze(id: "DE89370400440532013000", '
    'reason: "x") { id } }',
    "requestAccountUnfreeze": 'mutation { requestAccountUnfreeze(id: "DE89370400440532013000", '
    'reason: "x") { id } }',
    "requestReversal": 'mutation { requestReversal(id: "00000000-0000-0000-0000-000000000000", '
    'reason: "x") { id } }',
    "vopChecks": "{ vopChecks { edges { cursor } } }",
    "vopCheck": '{ vopCheck(id: "00000000-0000-0000-0000-000000000000") { id } }',
    "requestHolderDetailsChange": "mutation { requestHolderDetailsChange("
    'id: "DE89370400440532013000", holderName: "X", reason: "r") { id } }',
    "requestOverdraftLimit": 'mutation { requestOverdraftLimit(id: "DE89370400440532013000", '
    'limit: "5", reason: "x") { id } }',
    "notificationDeliveries": "{ notificationDeliveries { edges { cursor } } }",
    "notificationDelivery": '{ notificationDelivery(id: "00000000-0000-0000-0000-000000000000")'
    " { id } }",
    "notificationRules": "{ notificationRules { name } }",
    "reconciliations": "{ reconciliations { edges { cursor } } }",
    "reconciliation": '{ reconciliation(id: "00000000-0000-0000-0000-000000000000") { id } }',
    "reconciliationBreaks": "{ reconciliationBreaks { edges { cursor } } }",
    "importStatement": 'mutation { importStatement(xml: "<Document/>") { id } }',
    "resolveBreak": 'mutation { resolveBreak(id: "00000000-0000-0000-0000-000000000000:1", '
    'reason: "x") { id } }',
    "reports": "{ reports { name } }",
    "report": '{ report(name: "trial_balance", asOf: "2026-12-01T00:00:00Z") '
    "{ edges { cursor } } }",
}


def test_every_operation_goes_through_authorization(container: Container) -> None:
    schema = create_app(container).state  # noqa: F841 - the app builds; fields listed below
    from api.graphql.schema import Mutation, Query

    declared = {
        field.graphql_name or field.python_name
        for cls in (Query, Mutation)
        for field in cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
    }

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.title() for part in rest)

    assert {camel(n) for n in declared} == set(OPERATIONS)
    nobody = Principal(name="user:nobody", roles=frozenset())
    with client_as(container, nobody) as client:
        for name, operation in OPERATIONS.items():
            errors = gql_errors(client, operation)
            assert codes(errors) == ["FORBIDDEN"], (name, errors)
            assert "user:nobody is not allowed to" in errors[0]["message"]


def test_nested_fields_are_authorized_too(client: TestClient, container: Container) -> None:
    account = open_account(client)
    fund(client, account, "10.00")
    project(container)
    # a person holding only the channel role's permissions (no real token can carry that)
    channel = Principal(name="user:reader", roles=frozenset({"channel"}))
    with client_as(container, channel) as limited:
        data = gql(limited, "{ transactions { edges { node { id status } } } }")
        assert len(data["transactions"]["edges"]) == 1
        errors = gql_errors(
            limited, "{ transactions { edges { node { creditor { account { id } } } } } }"
        )
        assert codes(errors) == ["FORBIDDEN"]
        assert "accounts:read" in errors[0]["message"]


def test_graphiql_in_development_only(container: Container) -> None:
    with client_as(container, SUPERUSER) as client:
        page = client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        assert gql(client, "{ __schema { queryType { name } } }")


def test_production_turns_graphiql_and_introspection_off(
    container: Container, settings: Settings
) -> None:

    container.settings = settings.updated(env="production")
    with client_as(container, SUPERUSER) as client:
        page = client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code != 200 or "graphiql" not in page.text.lower()
        errors = gql_errors(client, "{ __schema { queryType { name } } }")
        assert "introspection" in errors[0]["message"].lower()
        assert gql(client, "{ accounts { edges { cursor } } }") == {"accounts": {"edges": []}}


def test_the_committed_sdl_is_current() -> None:
    from api.graphql.schema import SCHEMA_FILE, build_schema

    assert SCHEMA_FILE.read_text(encoding="utf-8") == build_schema().as_str() + "\n", (
        "run: python -m api.graphql.schema > /dev/null"
    )


def test_lookups_of_unknown_or_malformed_ids(client: TestClient) -> None:
    assert gql(client, '{ account(id: "DE89370400440532013000") { id } }') == {"account": None}
    unknown = '{ transaction(id: "00000000-0000-0000-0000-000000000000") { id } }'
    assert gql(client, unknown) == {"transaction": None}
    malformed = gql_errors(client, '{ transaction(id: "nope") { id } }')
    assert codes(malformed) == ["BAD_USER_INPUT"]
    assert "not a UUID" in malformed[0]["message"]
    not_iban = gql_errors(client, '{ account(id: "DE00") { id } }')
    assert codes(not_iban) == ["BAD_USER_INPUT"]
    syntax = gql_errors(client, "{ account(id: ) { id } }")
    assert "Syntax Error" in syntax[0]["message"]
