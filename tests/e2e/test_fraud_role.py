"""The fraud role: cases undecided past the review deadline are escalated once, by
``service:fraud``, and shown in the queue; the role's worker reports under /readyz."""

from __future__ import annotations

import time
from decimal import Decimal
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.persistence import DatabaseConfig
from api.http.app import create_app
from api.runtime.bootstrap import bootstrap
from api.runtime.fraud_role import case_escalation, fraud_workers
from api.runtime.roles import ROLE_NAMES, _role_table, build_workers, role
from api.runtime.settings import Settings
from domain.fraud.cases import Escalation
from tests.builders import iban
from tests.e2e.conftest import fund, gql, open_account, pay, project
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture

DEADLINE_MINUTES = 30
CASES = "{ fraudCases(first: 10) { edges { node { id status escalatedAt } } } }"


@pytest.fixture
def settings(database: DatabaseConfig, trained_models) -> Settings:  # noqa: F811
    install_models(trained_models, database.data_dir)
    # Every outgoing payment the model scores is held for review; nothing is declined.
    return (
        Settings()
        .with_database(database)
        .updated(
            fraud={
                "review_score": Decimal("0"),
                "decline_score": Decimal("1"),
                "review_deadline_minutes": DEADLINE_MINUTES,
            }
        )
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


def escalation_events(container) -> list[Escalation.Event]:
    notifications = container.fraud.recorder.select_notifications(start=1, limit=1000)
    events = [container.fraud.mapper.to_domain_event(n) for n in notifications]
    return [e for e in events if type(e).__name__ == "Escalated"]


def test_overdue_cases_are_escalated_once_by_the_fraud_service(client, container, promoted, clock):
    early, late, decided = held_payments(client, 3)
    project(container)
    worker = fraud_workers(container)[0]
    assert worker.name == "fraud-escalation"
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


def test_two_fraud_replicas_sweeping_at_once_escalate_once(
    client, container, promoted, clock, settings
):
    (held,) = held_payments(client, 1)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    other = bootstrap(settings, clock=clock)  # a second fraud process on the same database
    try:
        first, second = case_escalation(container), case_escalation(other)
        save = other.fraud.save

        def save_after_the_other_replica(*aggregates, **kwargs):
            assert first.sweep() == 1  # replica 1 commits between replica 2's checks and save
            return save(*aggregates, **kwargs)

        other.fraud.save = save_after_the_other_replica
        assert second.sweep() == 0  # its creation conflicted and was dropped
        assert [e.transaction_id for e in escalation_events(container)] == [held]
    finally:
        other.fraud.save = save
        other.close()


def test_an_escalation_meanwhile_never_breaks_the_analysts_decision(
    client, container, promoted, clock, settings
):
    """The api process decides (loads the case, the ledger acts, the case is saved); the fraud
    process escalates the same case in between: the decision still succeeds."""
    (held,) = held_payments(client, 1)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    fraud_process = bootstrap(settings, clock=clock)
    try:
        sweeper = case_escalation(fraud_process)
        reject_held = container.ledger.reject_held
        swept: list[int] = []

        def the_sweep_lands_then_the_ledger_acts(tx_id, detail):
            swept.append(sweeper.sweep())  # after decide loaded the case, before it saves it
            return reject_held(tx_id, detail)

        container.ledger.reject_held = the_sweep_lands_then_the_ledger_acts
        decide = """mutation($id: ID!) { decideFraudCase(
          id: $id, verdict: CONFIRMED_FRAUD, note: "customer confirmed") { status verdict } }"""
        assert gql(client, decide, {"id": held})["decideFraudCase"] == {
            "status": "DECIDED",
            "verdict": "CONFIRMED_FRAUD",
        }
    finally:
        container.ledger.reject_held = reject_held
        fraud_process.close()
    assert swept == [1]
    assert [e.transaction_id for e in escalation_events(container)] == [held]


def test_a_payment_no_longer_held_is_not_escalated(client, container, promoted, clock):
    (held,) = held_payments(client, 1)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    container.ledger.release_held(UUID(held))  # released outside the case, not projected yet
    assert case_escalation(container).sweep() == 0
    assert escalation_events(container) == []


def test_every_role_of_the_cli_is_in_the_role_table(container):
    assert set(ROLE_NAMES) == set(_role_table())
    for name in ROLE_NAMES:
        workers = build_workers(role(name), container)
        assert len({worker.name for worker in workers}) == len(workers)
    assert [w.name for w in build_workers(role("fraud"), container)] == [
        "fraud-escalation",
        "fraud-drift",
    ]


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
        assert worker == {"handled": 0, "failures": 0, "lastError": None, "ready": True}
        assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 404


def test_the_fraud_role_serves_the_drift_of_the_promoted_models_screenings(
    client, container, promoted
):
    """The drift worker's gauges are on /metrics: the screenings of the window per channel
    (PSI needs 50 at least: with three, none is exported rather than a noisy one)."""
    held_payments(client, 3)
    project(container)
    workers = fraud_workers(container)
    drift = next(worker for worker in workers if worker.name == "fraud-drift")
    app = create_app(container, operations_only=True, workers=[drift])  # its gauges registered
    assert drift.run_once() == 0  # (the started worker computes the same again)
    with TestClient(app) as metrics_client:
        text = metrics_client.get("/metrics").text
    scored = [line for line in text.splitlines() if line.startswith("ledger_fraud_monitored")]
    # three held payments (and the funding credit, scored too) over all channels
    assert 'ledger_fraud_monitored_payments{channel="all"} 4.0' in scored
    assert "ledger_fraud_monitor_last_run_timestamp_seconds" in text
    assert "ledger_fraud_feature_psi{" not in text
