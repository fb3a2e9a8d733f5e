"""Account holder details over REST and GraphQL (issue 15, step 1): an account opens with
them; they change only through a SET_HOLDER_DETAILS request a second person approves, carried
out once per request; bad input names the field."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.runtime.bootstrap import Container
from api.security import Principal
from domain.ledger.holders import HolderType
from tests.builders import iban
from tests.e2e.conftest import client_as, gql, gql_errors

OLGA = Principal("user:olga", frozenset({"operator"}))
CARL = Principal("user:carl", frozenset({"compliance"}))
VIC = Principal("user:vic", frozenset({"viewer"}))
LEI = "529900T8BM49AURSDO55"

REQUEST = """
mutation($id: String!, $name: String!, $type: HolderType, $names: [String!],
         $ids: [IdentifierInput!], $reason: String!) {
  requestHolderDetailsChange(id: $id, holderName: $name, holderType: $type,
      furtherNames: $names, identifiers: $ids, reason: $reason) {
    id kind subject params status } }
"""
APPROVE = "mutation($id: ID!) { approveChangeRequest(id: $id) { status outcome decidedBy } }"
OPEN = """
mutation($iban: String!, $ids: [IdentifierInput!]) {
  openAccount(iban: $iban, holderName: "Weber Bau GmbH", currency: "EUR", holderType: LEGAL,
              furtherNames: ["Weber Bau"], identifiers: $ids) { id holderName } }
"""


def rest_open(client: TestClient, **extra: Any) -> Any:
    body = {"iban": iban("DE"), "holderName": "John Smith", "currency": "EUR", **extra}
    return client.post("/v1/accounts", json=body)


def test_accounts_open_with_holder_details(client: TestClient, container: Container) -> None:
    with client_as(container, OLGA) as olga:
        joint = rest_open(olga, furtherNames=["Jane Smith"])
        assert joint.status_code == 201, joint.text
        holder = container.ledger.get_account(joint.json()["id"]).holder
        assert holder.further_names == ("Jane Smith",)
        bad = rest_open(olga, holderType="LEGAL", identifiers=[{"scheme": "LEI", "value": "x"}])
        assert bad.status_code == 422, bad.text
        assert "identifiers[0].value" in bad.json()["detail"]
        wanted = iban("DE")
        opened = gql(olga, OPEN, {"iban": wanted, "ids": [{"scheme": "LEI", "value": LEI}]})
        assert opened["openAccount"]["holderName"] == "Weber Bau GmbH"
        company = container.ledger.get_account(wanted).holder
        assert company.holder_type is HolderType.LEGAL
        assert company.identifiers[0].value == LEI
        errors = gql_errors(olga, OPEN, {"iban": iban("DE"), "ids": [{"scheme": "VAT"}]})
        assert errors  # a missing input field is GraphQL's own validation error


def test_holder_details_change_only_on_a_second_persons_approval(
    client: TestClient, container: Container
) -> None:
    with client_as(container, OLGA) as olga:
        account = rest_open(olga).json()["id"]
        variables = {
            "id": account,
            "name": "Smith Trading Ltd",
            "type": "LEGAL",
            "names": ["Smith Trading"],
            "ids": [{"scheme": "VAT", "value": "IE6388047V"}],
            "reason": "converted to a company",
        }
        request = gql(olga, REQUEST, variables)["requestHolderDetailsChange"]
        assert (request["kind"], request["status"]) == ("SET_HOLDER_DETAILS", "PENDING")
        assert request["params"]["previousHolderName"] == "John Smith"
        assert container.ledger.get_account(account).holder_name == "John Smith"
        assert gql_errors(olga, APPROVE, {"id": request["id"]})[0]["extensions"]["code"] == (
            "REFUSED"
        )
        bad = gql_errors(olga, REQUEST, {**variables, "ids": [{"scheme": "LEI", "value": "1"}]})
        assert bad[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "identifiers[0].value" in bad[0]["message"]
    with client_as(container, VIC) as vic:
        errors = gql_errors(vic, REQUEST, variables)
        assert errors[0]["extensions"] == {"code": "FORBIDDEN", "permission": "accounts:write"}
    with client_as(container, CARL) as carl:
        done = gql(carl, APPROVE, {"id": request["id"]})["approveChangeRequest"]
    assert done["status"] == "EXECUTED", done
    assert done["outcome"] == f"account {account} holder details changed"
    changed = container.ledger.get_account(account)
    assert changed.holder_name == "Smith Trading Ltd"
    assert changed.holder.holder_type is HolderType.LEGAL
    again = container.ledger_changes.execute(
        "SET_HOLDER_DETAILS", account, request["params"], request_id=request["id"]
    )
    assert again == f"account {account} holder details changed"
    kinds = [type(e).__name__ for e in container.ledger.events.get(changed.id)]
    assert kinds.count("HolderDetailsChanged") == 1
