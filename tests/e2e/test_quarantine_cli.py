"""The quarantine from the operator's side (issue #12, 1b), on both backends: poison events
stored through the application layer are listed by ``ledger projections quarantine list``,
reported by ``/readyz`` (which stays ready) and the ``ledger_quarantined_events`` gauge, the
audit chain still verifies, and ``retry`` resolves an entry once the fault is fixed."""

from __future__ import annotations

import dataclasses
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from api.cli.main import main
from api.http.app import create_app
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from domain.ledger.accounts import Account
from projections.ledger.transactions import TransactionsProjection
from projections.runner.registry import PROJECTIONS
from tests.builders import iban, open_command, payment
from tests.e2e.conftest import SUPERUSER

pytestmark = pytest.mark.usefixtures("restore_logging")


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def poison(container: Container) -> dict[str, int]:
    """A deep payment, an event the accounts projection raises on, an undecodable event,
    then a normal payment; all through the application layer. Returns their positions."""
    ledger = container.ledger
    debtor, creditor = iban("DE"), iban("DE")
    ledger.open_account(open_command(debtor, overdraft="1000"))
    ledger.open_account(open_command(creditor))
    deep = dataclasses.replace(
        payment(debtor=debtor, creditor=creditor), metadata={"m": nested(900)}
    )
    ledger.submit_payment(deep)
    stray = Account.open_internal("suspense:EUR")
    stray.credit(stray.id, Decimal("1.00"))
    ledger.events.put([stray.collect_events()[1]])
    positions = {"stray": int(ledger.recorder.max_notification_id())}
    ledger.recorder.insert_events(
        [StoredEvent(uuid.uuid4(), 1, "domain.gone:Vanished.Event", b"{}")]
    )
    positions["undecodable"] = int(ledger.recorder.max_notification_id())
    ledger.submit_payment(payment(debtor=debtor, creditor=creditor, amount="7.00"))
    positions["head"] = int(ledger.recorder.max_notification_id())
    return positions


def listed(env: dict[str, str], capsys: pytest.CaptureFixture[str], *extra: str) -> list[Any]:
    assert main(["projections", "quarantine", "list", "--json", *extra], env) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_poison_events_are_listed_reported_and_chained(
    env: dict[str, str], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    container = bootstrap(settings)
    try:
        at = poison(container)
        container.projector.catch_up()
        status = container.projector.status()
        assert {s.position for s in status if s.context == "ledger"} == {at["head"]}
        with TestClient(create_app(container, principal_resolver=lambda _r: SUPERUSER)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text  # reported, still ready
            check = ready.json()["checks"]["quarantine"]
            assert check["open"] == 1 + len(PROJECTIONS)
            assert check["followers"]["accounts"] == {"ledger": 2}
            assert check["followers"]["audit"] == {"ledger": 1}
            metrics = client.get("/metrics").text
            assert 'ledger_quarantined_events{context="ledger",follower="accounts"} 2.0' in metrics
    finally:
        container.close()
    capsys.readouterr()  # the app's own log lines

    entries = listed(env, capsys)
    assert sorted((e["follower"], e["position"]) for e in entries) == sorted(
        [("accounts", at["stray"])] + [(name, at["undecodable"]) for name in PROJECTIONS]
    )
    stray = next(e for e in entries if e["position"] == at["stray"])
    assert stray["errorType"] == "ValueError" and "never opened" in stray["error"]
    assert stray["status"] == "open" and stray["attempts"] == 1

    assert main(["audit", "verify"], env) == 0
    assert capsys.readouterr().out.startswith(
        f"ledger: intact; {at['head']} events, {at['head']} chained"
    )

    # not fixed: retry fails, exit code 1, the entries stay open
    assert main(["projections", "quarantine", "retry", "--all"], env) == 1
    out = capsys.readouterr().out
    assert sum(line.startswith("failed ") for line in out.splitlines()) == 1 + len(PROJECTIONS)
    assert {e["attempts"] for e in listed(env, capsys)} == {2}
    assert main(["projections", "quarantine", "retry", "--id", "99999"], env) == 2


def test_retry_resolves_an_entry_once_the_fault_is_fixed(
    env: dict[str, str],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = TransactionsProjection.apply

    def failing(self: TransactionsProjection, conn: Connection, envelopes: Any) -> None:
        if any(getattr(e.event, "reference", None) == "poison" for e in envelopes):
            raise RuntimeError("a bug met by one payment only")
        original(self, conn, envelopes)

    container = bootstrap(settings)
    try:
        debtor, creditor = iban("DE"), iban("DE")
        container.ledger.open_account(open_command(debtor, overdraft="1000"))
        container.ledger.open_account(open_command(creditor))
        bad = dataclasses.replace(payment(debtor=debtor, creditor=creditor), reference="poison")
        tx = container.ledger.submit_payment(bad).transaction_id
        container.ledger.submit_payment(payment(debtor=debtor, creditor=creditor))
        monkeypatch.setattr(TransactionsProjection, "apply", failing)
        container.projector.catch_up()
        assert container.queries.transaction(tx) is None
    finally:
        container.close()
    # the payment's later events fail too (no row to update): parked after it, in log order
    parked = [e for e in listed(env, capsys) if e["follower"] == "transactions"]
    assert {e["originatorId"] for e in parked} == {tx}
    assert [e["originatorVersion"] for e in parked] == [1, 2, 3]
    first = parked[0]

    monkeypatch.setattr(TransactionsProjection, "apply", original)  # the fix is deployed
    assert main(["projections", "quarantine", "retry", "--id", str(first["id"])], env) == 0
    assert f"resolved {first['id']}" in capsys.readouterr().out
    assert main(["projections", "quarantine", "retry", "--all"], env) == 0
    assert capsys.readouterr().out.count("resolved ") == 2
    assert [e for e in listed(env, capsys) if e["follower"] == "transactions"] == []
    [done] = [e for e in listed(env, capsys, "--all") if e["id"] == first["id"]]
    assert (done["status"], done["resolution"]) == ("resolved", "retry")
    container = bootstrap(settings)
    try:
        view = container.queries.transaction(tx)
        assert view is not None and view.status == "POSTED"
    finally:
        container.close()
