"""Review reproductions (temporary; delete after the review)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.bootstrap import bootstrap
from api.fraud_role import case_escalation, fraud_workers
from api.workers import LoopWorker
from domain.fraud.cases import case_id
from projections.fraud import rm_fraud_cases, rm_fraud_escalations
from tests.e2e.conftest import gql, project
from tests.e2e.test_fraud_role import (  # noqa: F401 - fixtures
    DEADLINE_MINUTES,
    escalation_events,
    held_payments,
    promoted,
    settings,
)
from tests.fraud_support import trained_models  # noqa: F401 - fixture

DECIDE = """mutation($id: ID!, $v: FraudVerdict!) {
  decideFraudCase(id: $id, verdict: $v, note: "review") { status } }"""


def _decide(client, tx, verdict):
    return client.post(
        "/graphql", json={"query": DECIDE, "variables": {"id": tx, "v": verdict}}
    ).json()


# ---------------------------------------------------------------- F1: api vs fraud process


def test_r1_escalation_in_fraud_process_makes_analyst_decide_fail_after_ledger_acted(
    client, container, promoted, clock, settings  # noqa: F811
):
    """The api process decides (ledger acts first), the fraud-role process escalates the
    same case in between: the analyst gets an error although the payment was rejected."""
    (held,) = held_payments(client, 1)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    fraud_process = bootstrap(settings, clock=clock)  # the fraud role's own process
    try:
        sweeper = case_escalation(fraud_process)
        original = container.ledger.reject_held

        def reject_then_sweep(tx_id, detail):
            result = original(tx_id, detail)
            assert sweeper.sweep() == 1  # the fraud role's minute tick lands here
            return result

        container.ledger.reject_held = reject_then_sweep
        body = _decide(client, held, "CONFIRMED_FRAUD")
        container.ledger.reject_held = original
        print("\nFIRST BODY", body)
        ledger_status = str(container.ledger.get_transaction(__import__("uuid").UUID(held)).status)
        case = container.fraud.repository.get(case_id(held))
        print("\nanalyst got:", body)
        print("ledger status:", ledger_status, "| case:", case.status, "escalated", case.escalated)
        # A second analyst later marks it FALSE_POSITIVE: recorded "as it stands"
        body2 = _decide(client, held, "FALSE_POSITIVE")
        case = container.fraud.repository.get(case_id(held))
        print("second decide:", body2, "| case verdict:", case.verdict, "| ledger:", ledger_status)
        assert body.get("errors") is None, "analyst's decision failed after the ledger acted"
    finally:
        fraud_process.close()


def test_r1b_true_two_replica_race_hits_the_integrity_branch(
    client, container, promoted, clock, settings  # noqa: F811
):
    """Checked-fine: two fraud processes escalate once (IntegrityError branch)."""
    (held,) = held_payments(client, 1)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    other = bootstrap(settings, clock=clock)
    try:
        first, second = case_escalation(container), case_escalation(other)
        save = other.fraud.save

        def save_after_first(*aggregates, **kw):
            assert first.sweep() == 1  # replica 1 commits between replica 2's load and save
            return save(*aggregates, **kw)

        other.fraud.save = save_after_first
        assert second.sweep() == 0
        assert len(escalation_events(container)) == 1
    finally:
        other.fraud.save = save
        other.close()


def test_r1c_replica_test_passes_without_integrity_handling(
    client, container, promoted, clock, monkeypatch
):
    """The committed 'another replica' test never reaches the IntegrityError branch."""
    import application.fraud as fraud_module

    class Never(Exception):
        pass

    monkeypatch.setattr(fraud_module, "IntegrityError", Never)
    (held,) = held_payments(client, 1)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    first, second = case_escalation(container), case_escalation(container)
    assert first.sweep() == 1
    assert second.sweep() == 0
    assert len(escalation_events(container)) == 1


# ---------------------------------------------------------------- F2: readiness


def test_r2_worker_failing_every_step_from_start_stays_ready(container, monkeypatch):
    """rm_fraud_escalations unusable (any persistent failure): the worker never succeeds,
    fails every step, and /readyz stays 200 long past stale_after."""
    rm_fraud_escalations.drop(container.read_engine)
    (worker,) = fraud_workers(container)
    worker.restart_delay = 0.05
    worker.stale_after = 0.5
    app = create_app(container, operations_only=True, workers=[worker])
    with TestClient(app) as client:
        time.sleep(5)  # 10x stale_after
        response = client.get("/readyz")
        body = response.json()
        print("\n", response.status_code, body["checks"]["workers"])
        assert body["checks"]["workers"]["fraud-escalation"]["failures"] >= 1
        assert response.status_code == 503, "a worker that never worked is reported ready"


def test_r2b_all_role_api_unready_because_of_the_sweep(container):
    """In the all-in-one process a stale background sweep takes the API out of service
    (the broker, by contrast, deliberately does not gate the all role)."""
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        if calls["n"] == 1:
            return 0
        raise RuntimeError("sweep failing")

    worker = LoopWorker("fraud-escalation", step, idle_wait=0.01, restart_delay=0.05,
                        stale_after=0.3)
    app = create_app(container, run_projector=False, workers=[worker])  # serves the API
    with TestClient(app) as client:
        time.sleep(0.8)
        response = client.get("/readyz")
        print("\n", response.status_code, response.json()["checks"].get("workers"))
        assert response.status_code == 200, "API process unready only because of the sweep"


# ---------------------------------------------------------------- F3: shutdown


def test_r3_ingestion_keeps_working_while_workers_stop_and_gets_its_full_own_timeout(container):
    events: list[tuple[str, float, float | None]] = []
    t0 = time.monotonic()

    class FakeIngestion:
        def start(self):
            pass

        def shutdown(self, timeout: float = 30.0):
            events.append(("ingestion.shutdown", time.monotonic() - t0, timeout))

        def readiness(self):
            return {"ready": True}

    def slow_step():
        time.sleep(3.0)  # a sweep in hand (100 saves on a slow database)
        return 0

    worker = LoopWorker("slow", slow_step)
    app = create_app(container, operations_only=True, workers=[worker])
    app.state.ingestion = FakeIngestion()
    with TestClient(app):
        time.sleep(0.2)
        t0 = time.monotonic()
    print("\n", events)
    (_, when, timeout) = events[0]
    assert when < 1.0 and timeout <= 30.0 - when, (
        f"ingestion told to stop {when:.1f}s after shutdown began, with its own {timeout}s"
    )


# ---------------------------------------------------------------- checked-fine probes


def test_ok_overdue_cutoff_in_another_timezone(container, client, promoted, clock):  # noqa: F811
    (held,) = held_payments(client, 1)
    project(container)
    with container.read_engine.connect() as conn:
        opened = conn.execute(
            select(rm_fraud_cases.c.opened_at).where(rm_fraud_cases.c.transaction_id == held)
        ).scalar_one()
    plus2 = timezone(timedelta(hours=2))
    exact = opened.astimezone(plus2)
    assert container.fraud_queries.overdue(exact, 10) == [(held, opened.astimezone(UTC))]
    assert container.fraud_queries.overdue(exact - timedelta(microseconds=1), 10) == []
    naive_utc = opened.astimezone(UTC).replace(tzinfo=None)
    assert container.fraud_queries.overdue(naive_utc, 10) == [(held, opened.astimezone(UTC))]


def test_ok_rebuild_equals_incremental(client, container, promoted, clock):  # noqa: F811
    a, b, c = held_payments(client, 3)
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    (worker,) = fraud_workers(container)
    assert worker.run_once() == 3
    project(container)
    clock.advance(60)
    gql(client, """mutation($id: ID!) { decideFraudCase(id: $id, verdict: FALSE_POSITIVE)
        { status } }""", {"id": a})
    project(container)

    def rows():
        with container.read_engine.connect() as conn:
            return (
                [dict(r) for r in conn.execute(select(rm_fraud_cases).order_by(
                    rm_fraud_cases.c.transaction_id)).mappings()],
                [dict(r) for r in conn.execute(select(rm_fraud_escalations).order_by(
                    rm_fraud_escalations.c.transaction_id)).mappings()],
            )

    before = rows()
    container.projector.rebuild("fraud")
    after = rows()
    assert before == after
    assert len(after[1]) == 3


def test_ok_old_case_without_escalation_loads(client, container, promoted):  # noqa: F811
    import uuid

    (held,) = held_payments(client, 1)
    container.fraud_cases.assign(uuid.UUID(held), "fran")
    case = container.fraud.repository.get(case_id(held))
    assert case.escalated is False and case.version == 2


def test_ok_overdue_when_clock_jumps(client, container, promoted, clock):  # noqa: F811
    """A case escalated while an analyst holds it assigned keeps ASSIGNED in the queue."""
    import uuid

    (held,) = held_payments(client, 1)
    container.fraud_cases.assign(uuid.UUID(held), "fran")
    project(container)
    clock.advance((DEADLINE_MINUTES + 1) * 60)
    (worker,) = fraud_workers(container)
    assert worker.run_once() == 1
    project(container)
    node = gql(client, "{ fraudCases(first: 5) { edges { node { id status escalatedAt } } } }")
    (edge,) = node["fraudCases"]["edges"]
    assert edge["node"]["status"] == "ASSIGNED" and edge["node"]["escalatedAt"]
