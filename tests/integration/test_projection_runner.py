"""The projector: exactly-once with tracking, crash and restart, rebuild, following the
log (PostgreSQL subscription, SQLite polling), bad events, status and wait_for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from adapters.persistence import DatabaseConfig, event_store_env
from application.ledger.app import LedgerApplication
from application.ledger.commands import OpenAccount
from domain.iban import Iban
from domain.ledger.accounts import Account
from domain.ledger.ids import account_id
from projections.audit.trail import rm_audit_events
from projections.base import ProjectionError
from projections.events import Envelope
from projections.ledger.transactions import TransactionsProjection
from projections.runner.projector import Projector
from projections.runner.registry import PROJECTIONS
from projections.runner.sources import EventSource
from tests.integration.test_projection_support import Ledger, iban, make_ledger


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(database)
    try:
        yield ledger
    finally:
        ledger.close()


def book(ledger: Ledger, prefix: str, count: int, accounts: Sequence[str]) -> None:
    for n in range(count):
        debtor = accounts[n % len(accounts)]
        creditor = accounts[(n + 1) % len(accounts)]
        amount = f"{(n % 13) + 1}.{n % 100:02d}"
        ledger.pay(f"{prefix}{n}", debtor, creditor, amount)


def open_accounts(ledger: Ledger, count: int = 4) -> list[str]:
    return [ledger.open(n, overdraft="100000") for n in range(1, count + 1)]


def audit_count(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rm_audit_events)).scalar_one())


def recorder(seen: list[tuple[int, int]]) -> Any:
    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    return progress


def rebuild_all(projector: Projector) -> None:
    for name in PROJECTIONS:
        projector.rebuild(name)


def test_catch_up_is_exactly_once_and_resumes_after_restart(ledger: Ledger) -> None:
    accounts = open_accounts(ledger)
    book(ledger, "a", 12, accounts)
    head = ledger.source.head()
    assert ledger.projector.catch_up() == head
    rows = ledger.dump()
    assert ledger.projector.catch_up() == 0
    assert ledger.dump() == rows

    # a restarted projector (nothing in memory) resumes from the tracking rows
    restarted = ledger.projector_for()
    assert restarted.catch_up() == 0
    book(ledger, "b", 5, accounts)
    assert restarted.catch_up() == ledger.source.head() - head
    assert {p for p in restarted.positions().values()} == {ledger.source.head()}

    # re-delivery of already tracked positions is skipped
    rows = ledger.dump()
    assert restarted.process_batch("ledger", 0, ledger.source.read(0, 40)) is True
    assert restarted.process_batch("ledger", 10, ledger.source.read(10, 5)) is True
    assert ledger.dump() == rows
    assert audit_count(ledger) == ledger.source.head()

    # and the result is what a rebuild from zero gives
    rebuild_all(restarted)
    assert ledger.dump() == rows


def test_a_crash_mid_batch_rolls_back_everything_and_retry_gives_the_same_rows(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = open_accounts(ledger)
    book(ledger, "c", 10, accounts)
    # strict mode: the failed batch rolls back and raises (default: isolated, see
    # tests/integration/test_quarantine.py)
    projector = ledger.projector_for(batch_size=10, quarantine=False)
    original = TransactionsProjection.apply
    calls = {"n": 0}

    def crashing(self: TransactionsProjection, conn: Connection, envelopes: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        original(self, conn, envelopes)

    monkeypatch.setattr(TransactionsProjection, "apply", crashing)
    with pytest.raises(ProjectionError, match="power cut"):
        projector.catch_up()
    # the third batch rolled back for every projection, tracking included
    assert set(projector.positions().values()) == {20}
    assert audit_count(ledger) == 20

    monkeypatch.setattr(TransactionsProjection, "apply", original)
    assert projector.catch_up() == ledger.source.head() - 20
    rows = ledger.dump()
    rebuild_all(projector)
    assert ledger.dump() == rows


def test_a_bad_event_stops_a_strict_projector_with_a_clear_error_and_writes_nothing(
    ledger: Ledger,
) -> None:
    stray = Account.open_internal("suspense:EUR")
    stray.credit(account_id("x"), Decimal("1.00"))
    credited = stray.collect_events()[1]
    bad = Envelope("ledger", 1, credited)
    strict = ledger.projector_for(quarantine=False)
    with pytest.raises(ProjectionError) as caught:
        strict.process_batch("ledger", 0, [bad])
    message = str(caught.value)
    assert "accounts" in message and "ledger#1" in message and "never opened" in message
    assert caught.value.envelope == bad
    assert set(ledger.projector.positions().values()) == {0}
    assert audit_count(ledger) == 0


def test_a_strict_run_stops_on_a_bad_event_and_logs_it(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    open_accounts(ledger, 2)

    def broken(self: TransactionsProjection, conn: Connection, envelopes: Any) -> None:
        raise ValueError("cannot handle this")

    monkeypatch.setattr(TransactionsProjection, "apply", broken)
    projector = ledger.projector_for(poll_interval=0.05, quarantine=False)
    errors: list[BaseException] = []
    stop = threading.Event()

    def target() -> None:
        try:
            projector.run(stop)
        except BaseException as error:
            errors.append(error)

    with caplog.at_level(logging.ERROR, logger="projections.runner"):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join(timeout=20)
    stop.set()
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ProjectionError)
    assert "cannot handle this" in str(errors[0])
    assert any("cannot apply" in r.getMessage() for r in caplog.records)
    assert set(projector.positions().values()) == {0}


def test_rebuild_equals_incremental_processing(ledger: Ledger) -> None:
    accounts = open_accounts(ledger, 5)
    projector = ledger.projector_for(batch_size=7)
    for round_ in range(4):
        book(ledger, f"r{round_}-", 6, accounts)
        ledger.app.freeze_account(accounts[round_], "check")
        ledger.pay(f"big{round_}", accounts[4], accounts[0], "1500.00")  # held
        ledger.app.unfreeze_account(accounts[round_], "ok")
        projector.catch_up()
    incremental = ledger.dump()
    assert all(incremental[name] for name in ("rm_holds", "rm_postings", "rm_audit_events"))
    for name in PROJECTIONS:
        seen: list[tuple[int, int]] = []
        processed = projector.rebuild(name, progress=recorder(seen))
        assert processed == ledger.source.head()
        assert seen[0] == (0, processed) and seen[-1] == (processed, processed)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        assert ledger.dump() == incremental, name
    with pytest.raises(ValueError, match="unknown projection"):
        projector.rebuild("nope")


def test_run_follows_the_log(ledger: Ledger, database: DatabaseConfig) -> None:
    accounts = open_accounts(ledger)
    book(ledger, "pre", 5, accounts)
    # On PostgreSQL a long poll interval proves that LISTEN/NOTIFY, not polling, delivers.
    poll = 30.0 if database.is_postgres else 0.05
    projector = ledger.projector_for(poll_interval=poll, max_batch_delay=0.01)
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            projector.run(stop)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    thread = threading.Thread(target=target, name="projector-under-test")
    thread.start()
    try:
        assert projector.wait_for({"ledger": ledger.source.head()}, timeout=15)
        assert projector.feed_modes == {
            "ledger": "subscription" if database.is_postgres else "polling"
        }
        for round_ in range(3):
            book(ledger, f"live{round_}-", 7, accounts)
            head = ledger.source.head()
            assert projector.wait_for({"ledger": head}, timeout=15), round_
            for key in accounts:
                view = ledger.queries.account(key)
                assert view is not None
                assert view.balance == ledger.app.get_account(key).balance

        # a rebuild from elsewhere resets the tracking: the running projector re-reads
        other = ledger.projector_for()
        other.rebuild("accounts")
        book(ledger, "after-rebuild", 4, accounts)
        assert projector.wait_for({"ledger": ledger.source.head()}, timeout=15)
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert errors == []
    rows = ledger.dump()
    rebuild_all(ledger.projector)
    assert ledger.dump() == rows
    assert set(ledger.projector.positions().values()) == {ledger.source.head()}


def test_wait_for_status_and_lag(ledger: Ledger) -> None:
    open_accounts(ledger, 2)
    head = ledger.source.head()
    assert ledger.projector.wait_for({"ledger": head}, timeout=0.2) is False
    before = ledger.projector.status()
    assert [(s.name, s.context) for s in before] == [
        ("accounts", "ledger"),
        ("transactions", "ledger"),
        ("audit", "ledger"),
        ("fraud", "ledger"),
        ("fraud_claims", "ledger"),
        ("fraud_monitor", "ledger"),
        ("identity", "ledger"),
        ("notifications", "ledger"),
        ("reconciliation", "ledger"),
        ("vop_directory", "ledger"),
        ("vop_checks", "ledger"),
    ]
    assert {(s.position, s.head, s.lag) for s in before} == {(0, head, head)}
    ledger.projector.catch_up()
    assert ledger.projector.wait_for({"ledger": head}, timeout=0.2) is True
    after = ledger.projector.status()
    assert {(s.position, s.lag) for s in after} == {(head, 0)}
    assert all(s.updated_at is not None for s in after)
    only_audit = ledger.projector_for(projections=["audit"])
    assert [s.name for s in only_audit.status()] == ["audit"]
    with pytest.raises(ValueError, match="unknown projections"):
        ledger.projector_for(projections=["nope"])


class OtherContext(LedgerApplication):
    """A second bounded context with its own event log (table / file)."""

    name = "other"


def test_positions_are_tracked_per_context(ledger: Ledger) -> None:
    other = OtherContext(env=event_store_env(ledger.database, "other"), clock=ledger.clock)
    try:
        accounts = open_accounts(ledger, 2)
        other_accounts = [iban(50), iban(51)]
        for key in other_accounts:
            other.open_account(OpenAccount(Iban(key), "Other", "EUR", Decimal("10")))
        book(ledger, "x", 3, accounts)
        sources = [ledger.source, EventSource(other)]
        projector = Projector(ledger.engine, sources, projections=["audit", "accounts"])
        projector.catch_up()
        positions = projector.positions()
        assert positions[("audit", "other")] == other.recorder.max_notification_id()
        assert positions[("audit", "ledger")] == ledger.source.head()
        trail = []
        after = None
        while True:
            page = ledger.queries.audit_trail(first=5, after=after)
            trail.extend(node for _, node in page.edges)
            if not page.has_next_page:
                break
            after = page.end_cursor
        assert {e.context for e in trail} == {"ledger", "other"}
        keys = [(e.recorded_at, e.context, e.position) for e in trail]
        assert keys == sorted(keys)
        assert len(trail) == ledger.source.head() + (other.recorder.max_notification_id() or 0)
        assert ledger.queries.account(other_accounts[0]) is not None
        with pytest.raises(ValueError, match="distinct names"):
            Projector(ledger.engine, [ledger.source, EventSource(ledger.app)])
    finally:
        other.close()
