"""The delivery audit over GraphQL: deliveries, their attempts and the rules in force, for
whoever holds ``notifications:read``; the role's workers drive evaluation and sending."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.audit.snapshot_verify import verify_snapshots
from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import Container
from api.runtime.notifications_role import notification_workers
from api.runtime.settings import Settings
from api.runtime.workers import shutdown_all
from api.security import Principal
from application.notifications.ports import ChannelResult, OutgoingNotification
from domain.causation import Causation, caused_by
from domain.notifications.deliveries import Delivery
from domain.notifications.rules import Channel, EventRef, Rule, rule_set
from projections.audit.chain_verify import verify_chains
from tests.builders import iban
from tests.e2e.conftest import client_as, fund, gql, open_account, pay, project

TARGET = "https://hooks.example.com/services/T0/secret-token"


@pytest.fixture
def settings(database: DatabaseConfig) -> Settings:
    rules = rule_set(
        [
            Rule(
                "payment-held", (EventRef("ledger", "Transaction.Held"),), Channel.WEBHOOK, TARGET
            ),
            Rule("requests", (EventRef("identity", "ChangeRequest.Requested"),), Channel.WEBHOOK),
        ],
        "rules.json",
        allow_local_http=False,
    )
    return (
        Settings()
        .with_database(database)
        .updated(
            notifications={
                "rules": rules,
                "webhook_secret": "a-secret-for-the-e2e-tests",
                "start": "beginning",
            }
        )
    )


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, OutgoingNotification]] = []

    def send(self, target: str, notification: OutgoingNotification) -> ChannelResult:
        self.sent.append((target, notification))
        return ChannelResult(True, "HTTP 200 OK")


DELIVERIES = """
query($status: NotificationDeliveryStatus, $rule: String, $first: Int, $after: String) {
  notificationDeliveries(status: $status, rule: $rule, first: $first, after: $after) {
    edges { cursor node { id rule channel target status sourceContext sourceEventType
                          attemptCount payload deliveredAt attempts { attempt outcome detail } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def test_deliveries_and_rules_are_listed_with_targets_masked(
    client: TestClient, container: Container
) -> None:
    recorder = Recorder()
    assert container.notification_sender is not None
    container.notification_sender.channels[Channel.WEBHOOK] = recorder
    rules_worker, sender_worker = notification_workers(container)
    assert (rules_worker.name, sender_worker.name) == ("notification-rules", "notification-sender")
    account = open_account(client)
    fund(client, account, "40000.00")
    held = [
        pay(client, debtor=account, creditor=iban("FR"), amount=amount)
        for amount in ("15000.00", "16000.00")
    ]
    assert {h["status"] for h in held} == {"HELD"}
    assert rules_worker.run_once() > 0
    project(container)
    assert sender_worker.run_once() == 2
    project(container)
    assert [target for target, _ in recorder.sent] == [TARGET, TARGET]

    page = gql(client, DELIVERIES, {"first": 1})["notificationDeliveries"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = gql(client, DELIVERIES, {"first": 5, "after": page["pageInfo"]["endCursor"]})
    nodes = [e["node"] for e in page["edges"] + rest["notificationDeliveries"]["edges"]]
    assert len(nodes) == 2
    assert {n["payload"]["data"]["transaction_id"] for n in nodes} == {
        h["transactionId"] for h in held
    }
    for node in nodes:
        assert node["status"] == "DELIVERED"
        assert node["target"] == "https://hooks.example.com/…"
        assert node["attempts"] == [{"attempt": 1, "outcome": "DELIVERED", "detail": "HTTP 200 OK"}]
        assert account not in str(node["payload"])
    assert gql(client, DELIVERIES, {"status": "PENDING"})["notificationDeliveries"]["edges"] == []
    assert gql(client, DELIVERIES, {"rule": "nope"})["notificationDeliveries"]["edges"] == []

    one = gql(
        client,
        "query($id: ID!) { notificationDelivery(id: $id) { id attempts { attempt } } }",
        {"id": nodes[0]["id"]},
    )["notificationDelivery"]
    assert one["id"] == nodes[0]["id"] and one["attempts"] == [{"attempt": 1}]

    # the notifications log is chained (tamper evidence) like every other context's
    reports = {r.context: r for r in verify_chains(container.sources, container.read_engine)}
    assert all(r.ok for r in reports.values()), reports
    assert reports["notifications"].head == reports["notifications"].events == 6
    assert all(r.ok for r in verify_snapshots(container.applications))

    rules = gql(client, "{ notificationRules { name events channel target active } }")
    assert rules["notificationRules"] == [
        {
            "name": "payment-held",
            "events": ["ledger:Transaction.Held"],
            "channel": "webhook",
            "target": "https://hooks.example.com/…",
            "active": True,
        },
        {
            "name": "requests",
            "events": ["identity:ChangeRequest.Requested"],
            "channel": "webhook",
            "target": None,
            "active": False,
        },
    ]


FIELDS = (
    "{ notificationDeliveries { edges { node { id } } } }",
    '{ notificationDelivery(id: "00000000-0000-0000-0000-000000000000") { id } }',
    "{ notificationRules { name } }",
)


def test_the_delivery_audit_needs_notifications_read(container: Container) -> None:
    viewer = Principal("user:viewer", frozenset({"viewer"}))
    auditor = Principal("user:auditor", frozenset({"auditor"}))
    with client_as(container, viewer) as refused, client_as(container, auditor) as allowed:
        for field in FIELDS:
            response = refused.post("/graphql", json={"query": field})
            assert response.status_code == 200
            errors: list[dict[str, Any]] = response.json()["errors"]
            assert errors[0]["extensions"] == {
                "code": "FORBIDDEN",
                "permission": "notifications:read",
            }
            answered = allowed.post("/graphql", json={"query": field}).json()
            assert not answered.get("errors"), answered


def test_a_bad_delivery_id_is_the_callers_error(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": '{ notificationDelivery(id: "x") { id } }'})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error


def test_the_workers_deliver_in_the_background(client: TestClient, container: Container) -> None:
    recorder = Recorder()
    assert container.notification_sender is not None
    container.notification_sender.channels[Channel.WEBHOOK] = recorder
    workers = notification_workers(container, idle_wait=0.05)
    for worker in workers:
        worker.start()
    try:
        account = open_account(client)
        fund(client, account, "40000.00")
        held = pay(client, debtor=account, creditor=iban("FR"), amount="15000.00")
        deadline = time.monotonic() + 20
        while not recorder.sent:  # the sender reads due deliveries from the read model
            assert time.monotonic() < deadline, "no notification was sent"
            project(container)
            time.sleep(0.02)
        assert all(w.readiness()["ready"] for w in workers)
    finally:
        shutdown_all(workers, 10)
    assert not any(w.readiness()["ready"] for w in workers)
    [(target, sent)] = recorder.sent
    assert target == TARGET
    assert sent.payload["data"]["transaction_id"] == held["transactionId"]


def test_a_fraud_deliverys_data_needs_fraud_read(container: Container) -> None:
    """A delivery scheduled before payloads were allowlisted may carry a case's note: its
    data is shown only to a role that may read fraud cases."""
    assert container.notifications is not None
    with caused_by(Causation(actor="service:notifications")):
        delivery = Delivery(
            rule="fraud-confirmed",
            channel="webhook",
            target="https://hooks.example.com/…",
            target_digest="d",
            payload={"deliveryId": "x", "data": {"verdict": "CONFIRMED_FRAUD", "note": "secret"}},
            source_context="fraud",
            source_position=3,
            source_event_id="fraud:x:v2",
            source_event_type="FraudCase.Decided",
            scheduled_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    container.notifications.save(delivery)
    project(container)
    query = "{ notificationDeliveries { edges { node { sourceContext payload } } } }"
    operator = Principal("user:operator", frozenset({"operator"}))
    auditor = Principal("user:auditor", frozenset({"auditor"}))
    with client_as(container, operator) as without, client_as(container, auditor) as with_fraud:
        [hidden] = gql(without, query)["notificationDeliveries"]["edges"]
        [shown] = gql(with_fraud, query)["notificationDeliveries"]["edges"]
    assert hidden["node"]["payload"] == {"deliveryId": "x", "data": None}
    assert shown["node"]["payload"]["data"]["note"] == "secret"
