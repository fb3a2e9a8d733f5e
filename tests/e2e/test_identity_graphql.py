"""Maker-checker end to end over GraphQL: users and roles, freezes, reversals, expiry, and
every recorded event naming the principal that caused it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from api.security import Principal
from domain.causation import Causation, caused_by
from tests.builders import FakeClock
from tests.e2e.conftest import client_as, fund, gql, open_account, pay, project

ALICE = Principal(name="user:alice", roles=frozenset({"admin"}))
BOB = Principal(name="user:bob", roles=frozenset({"admin"}))
OLGA = Principal(name="user:olga", roles=frozenset({"operator"}))
CARL = Principal(name="user:carl", roles=frozenset({"compliance"}))
VIC = Principal(name="user:vic", roles=frozenset({"viewer"}))

BOOTSTRAP = Causation(actor="user:root", correlation_id="corr-bootstrap", channel="CLI")

REQUEST_FIELDS = "id kind subject params status requestedBy decidedBy outcome reason expiresAt"


def mutation(signature: str, call: str, fields: str = REQUEST_FIELDS) -> str:
    return f"mutation({signature}) {{ {call} {{ {fields} }} }}"


REGISTER = mutation(
    "$name: String!, $display: String",
    "registerUser(name: $name, displayName: $display)",
    "name displayName status roles",
)
GRANT = mutation("$user: String!, $role: String!", "requestRoleGrant(user: $user, role: $role)")
REVOKE = mutation("$user: String!, $role: String!", "requestRoleRevoke(user: $user, role: $role)")
APPROVE = mutation("$id: ID!", "approveChangeRequest(id: $id)")
REJECT = mutation("$id: ID!, $reason: String!", "rejectChangeRequest(id: $id, reason: $reason)")
FREEZE = mutation(
    "$id: String!, $reason: String!", "requestAccountFreeze(id: $id, reason: $reason)"
)
REVERSE = mutation(
    "$id: ID!, $reason: String!", "reverseTransaction(id: $id, reason: $reason)", "id status"
)
REQUEST_REVERSAL = mutation(
    "$id: ID!, $reason: String!", "requestReversal(id: $id, reason: $reason)"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.updated(ledger={"reversal_approval_above": {"EUR": Decimal("100.00")}})


@pytest.fixture
def admins(container: Container) -> Container:
    with caused_by(BOOTSTRAP):
        container.identity.provision_user("alice", ["admin"], "Alice Admin")
        container.identity.provision_user("bob", ["admin"], "Bob Admin")
    return container


class Caller:
    """A GraphQL client for one principal; every call gets its own correlation id, kept
    in ``caused`` so that the events it caused can be traced back to the principal."""

    serial = itertools.count(1)

    def __init__(self, container: Container, principal: Principal, caused: dict[str, str]):
        self.principal = principal
        self.client = client_as(container, principal)
        self.caused = caused

    def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        correlation = f"corr-{self.principal.name}-{next(self.serial)}"
        self.caused[correlation] = self.principal.name
        response = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"X-Correlation-Id": correlation},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, query: str, **variables: Any) -> Any:
        body = self._post(query, variables)
        assert not body.get("errors"), body["errors"]
        (value,) = body["data"].values()
        return value

    def fails(self, query: str, **variables: Any) -> tuple[str, str]:
        body = self._post(query, variables)
        errors = body.get("errors") or []
        assert errors, body
        return str(errors[0]["extensions"]["code"]), str(errors[0]["message"])


@pytest.fixture
def caused() -> dict[str, str]:
    return {BOOTSTRAP.correlation_id: BOOTSTRAP.actor}


@pytest.fixture
def as_(admins: Container, caused: dict[str, str]) -> Iterator[Any]:
    callers: list[Caller] = []

    def make(principal: Principal) -> Caller:
        caller = Caller(admins, principal, caused)
        caller.client.__enter__()
        callers.append(caller)
        return caller

    yield make
    for caller in callers:
        caller.client.__exit__(None, None, None)


def test_a_role_grant_takes_effect_only_when_a_second_admin_approves(
    admins: Container, as_: Any
) -> None:
    alice, bob = as_(ALICE), as_(BOB)
    olga = alice.ok(REGISTER, name="Olga", display="Olga Operator")
    assert olga == {"name": "olga", "displayName": "Olga Operator", "status": "ACTIVE", "roles": []}
    request = alice.ok(GRANT, user="olga", role="operator")
    assert (request["kind"], request["subject"], request["status"]) == (
        "GRANT_ROLE",
        "olga",
        "PENDING",
    )
    assert request["params"] == {"role": "operator"}
    assert alice.fails(APPROVE, id=request["id"])[0] == "REFUSED"
    assert admins.identity.lookup("olga").roles == frozenset()  # type: ignore[union-attr]
    approved = bob.ok(APPROVE, id=request["id"])
    assert (approved["status"], approved["decidedBy"]) == ("EXECUTED", "user:bob")
    assert approved["outcome"] == "granted operator to olga"
    entry = admins.identity.lookup("olga")
    assert entry is not None and entry.roles == frozenset({"operator"}) and entry.active
    assert bob.fails(APPROVE, id=request["id"])[0] == "CONFLICT"
    project(admins)
    user = alice.ok('{ user(name: "olga") { name roles status } }')
    assert user == {"name": "olga", "roles": ["operator"], "status": "ACTIVE"}
    listed = alice.ok(
        "{ users(first: 2) { edges { node { name } } pageInfo { hasNextPage endCursor } } }"
    )
    assert [e["node"]["name"] for e in listed["edges"]] == ["alice", "bob"]
    assert listed["pageInfo"]["hasNextPage"] is True
    executed = alice.ok("{ changeRequests(status: EXECUTED) { edges { node { id decidedBy } } } }")
    assert executed["edges"] == [{"node": {"id": request["id"], "decidedBy": "user:bob"}}]
    one = alice.ok(f'{{ changeRequest(id: "{request["id"]}") {{ status requestedBy }} }}')
    assert one == {"status": "EXECUTED", "requestedBy": "user:alice"}


def test_the_subject_of_a_role_change_cannot_decide_it(admins: Container, as_: Any) -> None:
    with caused_by(BOOTSTRAP):
        admins.identity.provision_user("carol", ["admin"])
    alice, carol = as_(ALICE), as_(Principal(name="user:carol", roles=frozenset({"admin"})))
    request = alice.ok(GRANT, user="carol", role="auditor")
    code, message = carol.fails(APPROVE, id=request["id"])
    assert code == "REFUSED" and "own roles" in message
    assert carol.fails(REJECT, id=request["id"], reason="mine")[0] == "REFUSED"
    withdrawn = alice.ok(REJECT, id=request["id"], reason="asked by mistake")
    assert (withdrawn["status"], withdrawn["decidedBy"]) == ("REJECTED", "user:alice")


def test_permissions_are_checked_for_every_step(admins: Container, as_: Any) -> None:
    alice, olga, vic = as_(ALICE), as_(OLGA), as_(VIC)
    alice.ok(REGISTER, name="fred")
    assert vic.fails(REGISTER, name="mallory")[0] == "FORBIDDEN"
    assert olga.fails(GRANT, user="fred", role="viewer")[0] == "FORBIDDEN"
    request = alice.ok(GRANT, user="fred", role="viewer")
    code, message = olga.fails(APPROVE, id=request["id"])
    assert code == "FORBIDDEN" and "users:approve" in message
    assert vic.fails(APPROVE, id=request["id"])[0] == "FORBIDDEN"
    assert alice.fails(GRANT, user="fred", role="ingestion")[0] == "BAD_USER_INPUT"
    assert alice.fails(GRANT, user="nobody", role="viewer")[0] == "NOT_FOUND"
    assert alice.fails(GRANT, user="fred", role="viewer")[0] == "CONFLICT"  # pending already
    assert alice.fails(APPROVE, id="not-a-uuid")[0] == "BAD_USER_INPUT"


def test_suspension_shows_in_lookup(admins: Container, as_: Any) -> None:
    alice, bob = as_(ALICE), as_(BOB)
    alice.ok(REGISTER, name="fred")
    suspend = 'mutation { suspendUser(name: "fred", reason: "left") { status } }'
    assert alice.ok(suspend) == {"status": "SUSPENDED"}
    assert admins.identity.lookup("fred").active is False  # type: ignore[union-attr]
    assert alice.fails(suspend)[0] == "CONFLICT"
    assert alice.fails('mutation { suspendUser(name: "alice", reason: "x") { status } }')[0] == (
        "REFUSED"
    )
    back = 'mutation { reactivateUser(name: "fred", reason: "returned") { status } }'
    assert bob.ok(back) == {"status": "ACTIVE"}


def test_freeze_request_approved_by_compliance_freezes_the_account(
    admins: Container, client: TestClient, as_: Any
) -> None:
    account = open_account(client)
    olga, carl = as_(OLGA), as_(CARL)
    request = olga.ok(FREEZE, id=account, reason="card reported stolen")
    assert request["status"] == "PENDING"
    assert admins.ledger.get_account(account).status.value == "OPEN"
    assert olga.fails(APPROVE, id=request["id"])[0] == "REFUSED"
    done = carl.ok(APPROVE, id=request["id"])
    assert (done["status"], done["decidedBy"]) == ("EXECUTED", "user:carl")
    project(admins)
    status = gql(client, f'{{ account(id: "{account}") {{ status }} }}')["account"]["status"]
    assert status == "FROZEN"


def test_large_reversals_need_a_request_and_an_approval(
    admins: Container, client: TestClient, as_: Any
) -> None:
    debtor, creditor = open_account(client), open_account(client)
    fund(client, debtor, "1000.00")
    small = pay(client, debtor=debtor, creditor=creditor, amount="100.00")["transactionId"]
    large = pay(client, debtor=debtor, creditor=creditor, amount="250.00")["transactionId"]
    olga = as_(OLGA)
    assert olga.ok(REVERSE, id=small, reason="refund")["status"] == "POSTED"  # at the threshold
    code, message = olga.fails(REVERSE, id=large, reason="refund")
    assert code == "APPROVAL_REQUIRED"
    assert "requestReversal" in message and "100.00 EUR" in message
    assert admins.ledger.get_transaction(_uuid(large)).status.value == "POSTED"
    request = olga.ok(REQUEST_REVERSAL, id=large, reason="refund")
    assert request["params"] == {"reason": "refund", "amount": "250.00", "currency": "EUR"}
    other = as_(Principal(name="user:otto", roles=frozenset({"operator"})))
    done = other.ok(APPROVE, id=request["id"])
    assert done["status"] == "EXECUTED"
    assert admins.ledger.get_transaction(_uuid(large)).status.value == "REVERSED"
    project(admins)
    tx = gql(client, f'{{ transaction(id: "{large}") {{ status reversedBy {{ id }} }} }}')
    assert tx["transaction"]["status"] == "REVERSED"


def test_a_currency_without_a_threshold_reverses_only_on_approval(
    admins: Container, client: TestClient, as_: Any
) -> None:
    """Fail closed: no NOK threshold is configured, so even 1 NOK needs a second person."""
    debtor = open_account(client, currency="NOK")
    creditor = open_account(client, currency="NOK")
    fund(client, debtor, "10.00", currency="NOK")
    tx = pay(client, debtor=debtor, creditor=creditor, amount="1.00", currency="NOK")
    olga = as_(OLGA)
    code, message = olga.fails(REVERSE, id=tx["transactionId"], reason="refund")
    assert code == "APPROVAL_REQUIRED"
    assert "no approval threshold is configured for NOK" in message
    assert "requestReversal" in message
    assert admins.ledger.get_transaction(_uuid(tx["transactionId"])).status.value == "POSTED"
    request = olga.ok(REQUEST_REVERSAL, id=tx["transactionId"], reason="refund")
    other = as_(Principal(name="user:otto", roles=frozenset({"operator"})))
    assert other.ok(APPROVE, id=request["id"])["status"] == "EXECUTED"
    assert admins.ledger.get_transaction(_uuid(tx["transactionId"])).status.value == "REVERSED"


@pytest.fixture
def replica(admins: Container, settings: Settings, clock: FakeClock) -> Iterator[Container]:
    """A second api process on the same store (another replica behind the load balancer)."""
    other = bootstrap(settings, clock=clock)
    try:
        yield other
    finally:
        other.close()


def _frozen_events(container: Container, account: str) -> list[Any]:
    account_id = container.ledger.get_account(account).id
    return [e for e in container.ledger.events.get(account_id) if type(e).__name__ == "Frozen"]


@pytest.mark.parametrize("replica_runs", ["before", "after"])
def test_two_replicas_approving_at_once_freeze_once_and_record_executed(
    admins: Container,
    replica: Container,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    replica_runs: str,
) -> None:
    """The checker's approve reaches two replicas at once: the second finds the request
    APPROVED but not yet executed and completes it. Whether it gets to the ledger before
    or after the first, the account is frozen once and both answer EXECUTED."""
    account = open_account(client)
    request = client_as(admins, OLGA).post(
        "/graphql", json={"query": FREEZE, "variables": {"id": account, "reason": "stolen"}}
    )
    request_id = request.json()["data"]["requestAccountFreeze"]["id"]
    ledger = admins.ledger
    real_freeze = ledger.freeze_account
    answers: list[dict[str, Any]] = []

    def approve_on_replica() -> None:
        with client_as(replica, CARL) as carl:
            answers.append(gql(carl, APPROVE, {"id": request_id})["approveChangeRequest"])

    def freeze_racing(key: str, reason: str) -> Any:
        if replica_runs == "before":
            approve_on_replica()  # the replica freezes first; ours then finds it FROZEN
            return real_freeze(key, reason)
        frozen = real_freeze(key, reason)
        approve_on_replica()  # ours froze; the replica completes before we record it
        return frozen

    monkeypatch.setattr(ledger, "freeze_account", freeze_racing)
    with client_as(admins, CARL) as carl:
        ours = gql(carl, APPROVE, {"id": request_id})["approveChangeRequest"]
    (theirs,) = answers
    assert ours["status"] == theirs["status"] == "EXECUTED"
    assert ours["outcome"] == theirs["outcome"] == f"account {account} frozen"
    assert ours["reason"] is None and theirs["reason"] is None
    assert admins.identity.get_request(_uuid(request_id)).status.value == "EXECUTED"
    assert replica.identity.get_request(_uuid(request_id)).status.value == "EXECUTED"
    assert len(_frozen_events(admins, account)) == 1  # exactly one execution
    assert admins.ledger.get_account(account).status.value == "FROZEN"


def test_an_expired_request_cannot_be_approved(
    admins: Container, clock: FakeClock, as_: Any
) -> None:
    alice, bob = as_(ALICE), as_(BOB)
    alice.ok(REGISTER, name="fred")
    request = alice.ok(GRANT, user="fred", role="viewer")
    clock.advance(24 * 3600)
    code, message = bob.fails(APPROVE, id=request["id"])
    assert code == "EXPIRED" and "expired" in message
    assert admins.identity.lookup("fred").roles == frozenset()  # type: ignore[union-attr]
    project(admins)
    one = alice.ok(f'{{ changeRequest(id: "{request["id"]}") {{ status decidedBy }} }}')
    assert one == {"status": "EXPIRED", "decidedBy": None}
    assert bob.fails(APPROVE, id=request["id"])[0] == "CONFLICT"


def test_every_recorded_event_names_the_principal_that_caused_it(
    admins: Container, client: TestClient, clock: FakeClock, as_: Any, caused: dict[str, str]
) -> None:
    alice, bob, olga, carl = as_(ALICE), as_(BOB), as_(OLGA), as_(CARL)
    alice.ok(REGISTER, name="olga")
    bob.ok(APPROVE, id=alice.ok(GRANT, user="olga", role="operator")["id"])
    opened = olga.ok(
        'mutation { openAccount(iban: "DE89370400440532013000", holderName: "Max", '
        'currency: "EUR") { id } }'
    )["id"]
    carl.ok(APPROVE, id=olga.ok(FREEZE, id=opened, reason="check")["id"])
    unfreeze = 'mutation($id: String!) { requestAccountUnfreeze(id: $id, reason: "ok") { id } }'
    olga.ok(APPROVE, id=carl.ok(unfreeze, id=opened)["id"])
    pending = alice.ok(REVOKE, user="olga", role="operator")
    alice.ok(REJECT, id=pending["id"], reason="never mind")
    late = alice.ok(GRANT, user="olga", role="viewer")
    clock.advance(25 * 3600)
    bob.fails(APPROVE, id=late["id"])
    seen = 0
    for context, app in admins.applications.items():
        for notification in app.recorder.select_notifications(start=1, limit=10_000):
            event: Any = app.mapper.to_domain_event(notification)
            where = (context, type(event).__qualname__)
            assert event.actor and event.correlation_id and event.via_channel, where
            assert event.correlation_id in caused, where
            assert event.actor == caused[event.correlation_id], where
            assert event.via_channel == ("CLI" if event.actor == "user:root" else "GRAPHQL")
            seen += 1
    assert {"ledger", "identity"} <= set(admins.applications)
    assert seen >= 25


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)
