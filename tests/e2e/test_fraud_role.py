"""The fraud role: cases undecided past the review deadline are escalated once, by
``service:fraud``, and shown in the queue; the role's worker reports under /readyz."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from adapters.persistence import DatabaseConfig
from api.app import create_app
from api.fraud_role import case_escalation, fraud_workers
from api.roles import ROLE_NAMES, _role_table, build_workers, role
from api.settings import Settings
from domain.fraud.cases import FraudCase, case_id
from tests.builders import iban
from tests.e2e.conftest import fund, gql, open_account, pay, project
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture

DEADLINE_MINUTES = 30
CASES = "{ fraudCases(first: 10) { edges { node { id status escalatedAt } } } }"


@pytest.fixture
def settings(database: DatabaseConfig, trained_models) -> Settings:  # noqa: F811
    install_models(trained_models, database.data_dir)
    # Every outgoing payment the model scores is held for review; nothing is declined.
    return dataclasses.replace(
        Settings().with_database(database),
        fraud_review_score=Decimal("0"),
        fraud_decline_score=Decimal("1"),
        fraud_review_deadline_minutes=DEADLINE_MINUTES,
    )


@pytest.fixture
def promoted(container, trained_models, database):  # noqa: F811
    from domain.causation import Causation, caused_by

    versions = install_models(trained_models, database.data_dir)
    with caused_by(Causation("user:mlops", "corr-promote", "CLI")):
        container.fraud.register_model(versions[0], {})
        container.fraud.promote(versions[0], "for the test")
    return versions[0]


def held_payments(client, count: int) -> list[str]:
    debtor = open_account(client)
    fund(client, debtor, "5000.00")
    ids = []
    for index in range(count):
        result = pay(client, debtor=debtor, creditor=iban("FR"), amount=f"{100 + index}.00")
        assert result["status"] == "HELD"
        ids.append(result["transactionId"])
    return ids


def queue(client) -> dict[str, dict]:
    edges = gql(client, CASES)["fraudCases"]["edges"]
    return {edge["node"]["id"]: edge["node"] for edge in edges}


def escalation_events(container) -> list[FraudCase.Event]:
    notifications = container.fraud.recorder.select_notifications(start=1, limit=1000)
    events = [container.fraud.mapper.to_domain_event(n) for n in notifications]
    return [e for e in events if type(e).__name__ == "Escalated"]


def test_overdue_cases_are_escalated_once_by_the_fraud_service(client, container, promoted, clock):
    early, late, decided = held_payments(client, 3)
    project(container)
    (worker,) = fraud_workers(container)
    clock.advance((DEADLINE_MINUTES - 1) * 60)
    assert worker.run_once() == 0  # nothing is overdue yet

    decide = """mutation($id: ID!) {
      decideFraudCase(id: $id, verdict: FALSE_POSITIVE) { status } }"""
    gql(client, decide, {"id": decided})
    project(container)
    clock.advance(2 * 60)
    assert worker.run_once() == 2  # early and late; the decided case is not escalated
    # The read model has not seen the escalations yet: the aggregates still refuse a second.
    assert worker.run_once() == 0
    project(container)
    assert worker.run_once() == 0

    cases = queue(client)
    assert cases[early]["escalatedAt"] is not None
    assert cases[late]["escalatedAt"] is not None
    assert cases[decided]["escalatedAt"] is None and cases[decided]["status"] == "DECIDED"
    events = escalation_events(container)
    assert sorted(e.transaction_id for e in events) == sorted([early, late])
    assert {e.actor for e in events} == {"service:fraud"}  # attributed like every event
    assert {e.deadline_minutes for e in events} == {DEADLINE_MINUTES}


def test_a_case_escalated_meanwhile_by_another_replica_is_skipped(
    client, container, promoted, clock
):
    (held,) = held_payments(client, 1)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    first, second = case_escalation(container), case_escalation(container)
    assert first.sweep() == 1
    assert second.sweep() == 0  # same read model, but its aggregate says escalated
    case = container.fraud.repository.get(case_id(held))
    assert case.escalated and case.status.value == "OPEN"
    assert len(escalation_events(container)) == 1


def test_every_role_of_the_cli_is_in_the_role_table(container):
    assert set(ROLE_NAMES) == set(_role_table())
    for name in ROLE_NAMES:
        workers = build_workers(role(name), container)
        assert len({worker.name for worker in workers}) == len(workers)
    assert [w.name for w in build_workers(role("fraud"), container)] == ["fraud-escalation"]


def test_the_fraud_role_reports_its_worker_under_readyz(container):
    app = create_app(container, operations_only=True, workers=fraud_workers(container))
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while True:
            body = client.get("/readyz").json()
            worker = body["checks"].get("workers", {}).get("fraud-escalation")
            if (worker is not None and body["status"] == "ready") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert body["status"] == "ready", body
        assert worker == {"handled": 0, "failures": 0, "lastError": None}
        assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 404
