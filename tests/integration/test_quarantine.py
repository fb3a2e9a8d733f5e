"""No event can stop a projection (issue #12, 1b): an event a projection cannot handle is
parked in ``rm_quarantine`` for that projection only, every projection goes on past it, the
audit chain still covers it, a restart does not get stuck, a rebuild parks it the same way,
and a retry after a fix resolves it. On both backends."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, select

from adapters.persistence import DatabaseConfig
from domain.ledger.accounts import Account
from projections.audit.chain_verify import verify_chain
from projections.audit.trail import rm_audit_events
from projections.events import TRUNCATED, Envelope
from projections.ledger.tables import rm_transactions
from projections.ledger.transactions import TransactionsProjection
from projections.runner.projector import Projector
from projections.runner.registry import PROJECTIONS
from tests.integration.test_projection_support import Ledger, make_ledger


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(database)
    try:
        yield ledger
    finally:
        ledger.close()


# ------------------------------------------------------------------------ poison events


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_payment(
    ledger: Ledger, debtor: str, creditor: str, depth: int = 900, external_id: str = "deep"
) -> str:
    """A payment whose metadata is ``depth`` levels deep, booked through the application
    layer (no edge validation): it stopped every projection before issue #12."""
    payment = dataclasses.replace(
        ledger.payment(external_id, debtor, creditor, "1.00"), metadata={"deep": nested(depth)}
    )
    return ledger.app.submit_payment(payment).transaction_id


def stray_credit(ledger: Ledger, nth: int = 1) -> int:
    """Stores, as it is, an ``Account.Credited`` (version ``nth + 1``) of an account that was
    never opened: the accounts projection raises on it. Returns its position."""
    stray = Account.open_internal("suspense:EUR")
    for _ in range(nth):
        stray.credit(stray.id, Decimal("1.00"))
    credited = stray.collect_events()[-1]
    ledger.app.events.put([credited])
    return ledger.source.head()


def undecodable(ledger: Ledger) -> int:
    """Stores an event whose topic names no class: nothing can decode it."""
    ledger.app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=uuid.uuid4(),
                originator_version=1,
                topic="domain.gone:Vanished.Event",
                state=b'{"what": "ever"}',
            )
        ]
    )
    return ledger.source.head()


def open_entries(projector: Projector) -> list[tuple[str, str, int, str]]:
    return [
        (e.follower, e.context, e.position, e.error_type) for e in projector.quarantined.entries()
    ]


def chained(ledger: Ledger) -> Projector:
    projector = ledger.projector_for(chain=True)
    projector.create_tables()
    return projector


def audit_positions(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as conn:
        return sorted(int(p) for p in conn.execute(select(rm_audit_events.c.position)).scalars())


# ------------------------------------------------------------------------------- tests


def test_deep_metadata_and_non_finite_numbers_project_everywhere(ledger: Ledger) -> None:
    a, b = ledger.open(1, overdraft="100"), ledger.open(2)
    deep = deep_payment(ledger, a, b)
    odd = dataclasses.replace(
        ledger.payment("odd", a, b, "2.00"), metadata={"score": math.nan, "big": math.inf}
    )
    odd_id = ledger.app.submit_payment(odd).transaction_id
    ledger.pay("after", a, b, "3.00")
    projector = chained(ledger)
    projector.catch_up()
    head = ledger.source.head()
    assert set(projector.positions().values()) == {head}
    assert open_entries(projector) == []
    assert audit_positions(ledger) == list(range(1, head + 1))
    with ledger.engine.connect() as conn:
        metadata = dict(
            conn.execute(select(rm_transactions.c.id, rm_transactions.c.metadata)).all()
        )
    assert TRUNCATED in str(metadata[deep])
    assert metadata[odd_id] == {"score": "NaN", "big": "Infinity"}
    report = verify_chain(ledger.source, ledger.engine)
    assert report.ok and report.chained == head
    view = ledger.queries.account(b)
    assert view is not None and view.balance == Decimal("6.00")


def test_a_poison_event_is_parked_for_its_projection_only(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = ledger.open(1, overdraft="100"), ledger.open(2)
    ledger.pay("before", a, b, "1.00")
    poison = stray_credit(ledger)
    ledger.pay("after", a, b, "2.00")
    projector = chained(ledger)
    with caplog.at_level(logging.ERROR, logger="ledger.quarantine"):
        projector.catch_up()
    head = ledger.source.head()
    assert set(projector.positions().values()) == {head}
    assert open_entries(projector) == [("accounts", "ledger", poison, "ValueError")]
    # every other projection has the event, and the later events are projected
    assert audit_positions(ledger) == list(range(1, head + 1))
    view = ledger.queries.account(b)
    assert view is not None and view.balance == Decimal("3.00")
    [line] = [r.getMessage() for r in caplog.records if "quarantined" in r.getMessage()]
    assert f"follower=accounts context=ledger position={poison}" in line
    assert "error_type=ValueError" in line and "DE" not in line.split("topic=")[0]
    report = verify_chain(ledger.source, ledger.engine)
    assert report.ok and report.chained == head

    # a restart does not get stuck, nor park the event twice
    restarted = ledger.projector_for()
    assert restarted.catch_up() == 0
    [entry] = restarted.quarantined.entries()
    assert entry.attempts == 1 and entry.status == "open"

    # a rebuild parks it the same way and gives the same rows
    rows = ledger.dump()
    for name in PROJECTIONS:
        restarted.rebuild(name)
    assert ledger.dump() == rows
    assert open_entries(restarted) == [("accounts", "ledger", poison, "ValueError")]
    assert restarted.quarantined.entries()[0].attempts == 2

    # still broken: a retry fails, the entry stays open with one attempt more
    report_ = restarted.quarantined.retry(restarted.quarantined.entries(), _projector(restarted))
    assert report_.resolved == [] and list(report_.failed) == [entry.id]
    assert "never opened" in report_.failed[entry.id]
    assert restarted.quarantined.entries()[0].attempts == 3


def test_an_undecodable_event_is_parked_for_every_projection_and_chained(
    ledger: Ledger,
) -> None:
    a, b = ledger.open(1, overdraft="100"), ledger.open(2)
    bad = undecodable(ledger)
    ledger.pay("after", a, b, "2.00")
    projector = chained(ledger)
    projector.catch_up()
    head = ledger.source.head()
    assert set(projector.positions().values()) == {head}
    assert sorted(open_entries(projector)) == sorted(
        (name, "ledger", bad, "UnreadableEventError") for name in PROJECTIONS
    )
    assert audit_positions(ledger) == [p for p in range(1, head + 1) if p != bad]
    report = verify_chain(ledger.source, ledger.engine)
    assert report.ok and report.chained == head  # the chain covers it all the same


def test_retry_after_a_fix_resolves_in_log_order(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = ledger.open(1, overdraft="100"), ledger.open(2)
    ledger.pay("one", a, b, "1.00")
    flaky = ledger.pay("flaky", a, b, "2.00").transaction_id
    ledger.pay("three", a, b, "3.00")
    original = TransactionsProjection.apply
    broken = {"on": True}

    def failing(self: TransactionsProjection, conn: Connection, envelopes: Any) -> None:
        if broken["on"] and any(e.stream_id == flaky for e in envelopes):
            raise RuntimeError("a bug met by one payment only")
        original(self, conn, envelopes)

    monkeypatch.setattr(TransactionsProjection, "apply", failing)
    projector = ledger.projector_for(batch_size=50)
    projector.catch_up()
    head = ledger.source.head()
    assert set(projector.positions().values()) == {head}
    parked = projector.quarantined.entries()
    assert {e.follower for e in parked} >= {"transactions"}
    assert all(e.originator_id == flaky for e in parked if e.follower == "transactions")
    assert ledger.queries.transaction(flaky) is None  # type: ignore[attr-defined]

    broken["on"] = False  # the fix is deployed
    report = projector.quarantined.retry(parked, _projector(projector))
    assert sorted(report.resolved) == sorted(e.id for e in parked) and not report.failed
    assert projector.quarantined.entries() == []
    assert [e.status for e in projector.quarantined.entries(status=None)] == ["resolved"] * len(
        parked
    )
    retried = ledger.dump()
    for name in PROJECTIONS:
        projector.rebuild(name)
    assert ledger.dump() == retried  # the retry gave what processing in order gives


def test_run_follows_the_log_past_poison_events(ledger: Ledger, database: DatabaseConfig) -> None:
    a, b = ledger.open(1, overdraft="100"), ledger.open(2)
    stray_credit(ledger)
    projector = ledger.projector_for(poll_interval=0.05, max_batch_delay=0.01, chain=True)
    projector.create_tables()
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            projector.run(stop)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    try:
        assert projector.wait_for({"ledger": ledger.source.head()}, timeout=15)
        undecodable(ledger)
        deep_payment(ledger, a, b)
        ledger.pay("later", a, b, "5.00")
        assert projector.wait_for({"ledger": ledger.source.head()}, timeout=15)
    finally:
        stop.set()
        thread.join(timeout=15)
    assert errors == [] and not thread.is_alive()
    view = ledger.queries.account(b)
    assert view is not None and view.balance == Decimal("6.00")
    assert {e.follower for e in projector.quarantined.entries()} == set(PROJECTIONS)
    report = verify_chain(ledger.source, ledger.engine)
    assert report.ok and report.chained == ledger.source.head()


def test_an_in_memory_envelope_is_parked_with_its_event_identity(ledger: Ledger) -> None:
    stray = Account.open_internal("suspense:EUR")
    stray.credit(stray.id, Decimal("1.00"))
    credited = stray.collect_events()[1]
    assert ledger.projector.process_batch("ledger", 0, [Envelope("ledger", 1, credited)])
    [entry] = ledger.projector.quarantined.entries()
    assert (entry.follower, entry.position, entry.originator_id, entry.originator_version) == (
        "accounts",
        1,
        str(stray.id),
        2,
    )
    assert entry.topic.endswith("Account.Credited")


def _projector(projector: Projector) -> Any:
    return lambda entry: projector.retry_quarantined
