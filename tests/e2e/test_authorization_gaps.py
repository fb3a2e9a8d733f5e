"""Authorization gaps found by the penetration test (issue #12, item 8), end to end:

* ``auditTrail`` shows a reader only the events of the contexts it may read;
* ``Transaction.ruleHits`` / ``rejectionDetail`` of a fraud decision need ``fraud:read``;
* a reversal cannot be reversed (it skips screening);
* an overdraft limit above the ceiling needs a second person (tests/e2e/test_overdraft_approval.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import Principal
from domain.identity import permissions
from domain.identity.permissions import HUMAN_ROLES
from tests.builders import iban
from tests.e2e.conftest import client_as, fund, gql, gql_errors, open_account, pay, project
from tests.e2e.test_reconciliation import IMPORT, booked_statement

COMPLIANCE = Principal("user:carl", frozenset({"compliance"}))
AUDITOR = Principal("user:audrey", frozenset({"auditor"}))
VIEWER = Principal("user:vic", frozenset({"viewer"}))
OPERATOR = Principal("user:olga", frozenset({"operator"}))
ANALYST = Principal("user:fran", frozenset({"fraud_analyst"}))

AUDIT = """
query($stream: ID) { auditTrail(streamId: $stream, first: 100) {
  edges { node { context streamId eventType payload } } } }
"""


def audit(container: Container, principal: Principal, stream: str | None) -> list[dict[str, Any]]:
    with client_as(container, principal) as client:
        data = gql(client, AUDIT, {"stream": stream})
    return [edge["node"] for edge in data["auditTrail"]["edges"]]


# --------------------------------------------------------------------------- audit trail


def test_every_context_has_a_read_permission_that_some_auditing_role_holds() -> None:
    by_context = permissions.CONTEXT_READ_PERMISSIONS
    assert set(by_context) == {
        "ledger",
        "fraud",
        "reconciliation",
        "identity",
        "notifications",
        "vop",
        "reports",
    }
    everything = set().union(*by_context.values())
    assert everything <= HUMAN_ROLES["auditor"] and everything <= HUMAN_ROLES["admin"]


def test_audit_trail_leaves_out_events_of_contexts_the_reader_may_not_read(
    client: TestClient, container: Container
) -> None:
    """Compliance (audit:read, no reconciliation:read) reads no reconciliation entry or break,
    neither by its stream id nor in the whole trail; the auditor reads them."""
    imported = gql(client, IMPORT, {"xml": booked_statement(client).decode()})["importStatement"]
    project(container)
    reconciliation_id = imported[0]["id"]
    full = audit(container, AUDITOR, reconciliation_id)
    assert full and {event["context"] for event in full} == {"reconciliation"}
    assert audit(container, COMPLIANCE, reconciliation_id) == []
    everything = audit(container, COMPLIANCE, None)
    assert everything, "compliance still reads the ledger's events"
    assert "reconciliation" not in {event["context"] for event in everything}
    assert {"reconciliation", "ledger"} <= {e["context"] for e in audit(container, AUDITOR, None)}


def test_audit_trail_pages_over_readable_events_only(
    client: TestClient, container: Container
) -> None:
    """The filter is part of the query: a page of a reader who may not read a context is
    full of events it may read, and the cursor moves on over them."""
    gql(client, IMPORT, {"xml": booked_statement(client).decode()})
    project(container)
    seen: list[str] = []
    after = None
    page_query = """
    query($after: String) { auditTrail(first: 3, after: $after) {
      edges { node { context } } pageInfo { hasNextPage endCursor } } }
    """
    with client_as(container, COMPLIANCE) as reader:
        while True:
            page = gql(reader, page_query, {"after": after})["auditTrail"]
            contexts = [edge["node"]["context"] for edge in page["edges"]]
            assert page["edges"] and (len(contexts) == 3 or not page["pageInfo"]["hasNextPage"])
            seen += contexts
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    assert seen and "reconciliation" not in seen
    assert len(seen) == len(audit(container, COMPLIANCE, None))


# --------------------------------------------------------------------------- rule hits

TX_FIELDS = "status rejectionReason rejectionDetail screeningOutcome ruleHits"


@pytest.fixture
def declined(client: TestClient, container: Container) -> str:
    """A payment declined by screening (its detail names the rules that fired)."""
    account = open_account(client)
    fund(client, account, "90000.00")
    tx = pay(client, debtor=account, creditor=iban("FR"), amount="60000.00")
    assert (tx["status"], tx["reason"]) == ("REJECTED", "SCREENING_DECLINED"), tx
    project(container)
    return str(tx["transactionId"])


def transaction_as(container: Container, principal: Principal, tx: str) -> dict[str, Any]:
    with client_as(container, principal) as client:
        data = gql(client, f'{{ transaction(id: "{tx}") {{ {TX_FIELDS} }} }}')
    result: dict[str, Any] = data["transaction"]
    return result


def test_rule_hits_and_the_screening_detail_need_fraud_read(
    container: Container, declined: str
) -> None:
    analyst = transaction_as(container, ANALYST, declined)
    assert analyst["ruleHits"] and analyst["rejectionDetail"], analyst
    for principal in (VIEWER, OPERATOR):
        seen = transaction_as(container, principal, declined)
        assert (seen["ruleHits"], seen["rejectionDetail"]) == (None, None), seen
        assert (seen["status"], seen["rejectionReason"]) == ("REJECTED", "SCREENING_DECLINED")
    with client_as(container, VIEWER) as client:
        query = f"{{ transactions(first: 50) {{ edges {{ node {{ {TX_FIELDS} }} }} }} }}"
        listed = gql(client, query)
    assert all(e["node"]["ruleHits"] is None for e in listed["transactions"]["edges"])


def test_a_booking_refusal_detail_stays_visible_without_fraud_read(
    client: TestClient, container: Container
) -> None:
    """Not every rejection detail is a fraud rule: insufficient funds says so to anyone."""
    account = open_account(client)
    tx = pay(client, debtor=account, creditor=iban("FR"), amount="10.00")
    assert tx["reason"] == "INSUFFICIENT_FUNDS", tx
    project(container)
    seen = transaction_as(container, VIEWER, str(tx["transactionId"]))
    assert seen["rejectionDetail"] and "available" in seen["rejectionDetail"]


def test_rest_transactions_do_not_show_rule_hits(client: TestClient, declined: str) -> None:
    body = client.get(f"/v1/transactions/{declined}").json()
    assert "ruleHits" not in body and "rejectionDetail" not in body
    assert all(step.get("reason") in (None, "SCREENING_DECLINED") for step in body["statusHistory"])


# --------------------------------------------------------------------------- reversals

REVERSE = """
mutation($id: ID!, $reason: String!) { reverseTransaction(id: $id, reason: $reason) { id } }
"""
REQUEST_REVERSAL = """
mutation($id: ID!, $reason: String!) { requestReversal(id: $id, reason: $reason) { id } }
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.updated(ledger={"reversal_approval_above": {"EUR": Decimal("100.00")}})


def test_a_reversal_cannot_be_reversed_directly_or_by_request(
    client: TestClient, container: Container
) -> None:
    debtor, creditor = open_account(client), open_account(client)
    fund(client, debtor, "100.00")
    original = pay(client, debtor=debtor, creditor=creditor, amount="50.00")["transactionId"]
    with client_as(container, OPERATOR) as olga:
        reversal = gql(olga, REVERSE, {"id": original, "reason": "refund"})["reverseTransaction"]
        for mutation in (REVERSE, REQUEST_REVERSAL):
            errors = gql_errors(olga, mutation, {"id": reversal["id"], "reason": "undo"})
            assert errors[0]["extensions"]["code"] == "CONFLICT", errors
            assert f"transaction {reversal['id']} is a reversal" in errors[0]["message"]
    assert container.ledger.get_account(debtor).balance == Decimal("100.00")
    assert container.identity.pending() == []
