"""Replay: the read models as recorded at T, written to a new SQLite file, answer exactly
what the live point-in-time queries answer for T."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import create_engine, select

from adapters.persistence import DatabaseConfig
from projections.queries import LedgerQueries
from projections.replay import replay_info, replay_to_sqlite
from projections.views import Page
from tests.integration.test_projection_support import START, Ledger, iban, make_ledger


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(database)
    try:
        yield ledger
    finally:
        ledger.close()


def nodes(fetch: Any, **kw: Any) -> list[Any]:
    result: list[Any] = []
    after = None
    while True:
        page: Page[Any] = fetch(first=500, after=after, **kw)
        result.extend(node for _, node in page.edges)
        if not page.has_next_page:
            return result
        after = page.end_cursor


def history(ledger: Ledger) -> tuple[list[str], list[str]]:
    app = ledger.app
    a = ledger.open(1, overdraft="100")
    b = ledger.open(2)
    c = ledger.open(3, currency="USD")
    tx = [ledger.pay("h0", iban(1, "FR"), a, "3000.00").transaction_id]
    tx.append(ledger.pay("h1", a, b, "25.00").transaction_id)
    tx.append(ledger.pay("h2", a, b, "1500.00").transaction_id)  # held
    tx.append(ledger.pay("h3", iban(2, "FR"), c, "10.00", currency="USD").transaction_id)
    app.freeze_account(b, "check")
    app.release_held(UUID(tx[2]))
    app.unfreeze_account(b, "ok")
    app.reverse(UUID(tx[1]), "duplicate")
    tx.append(ledger.pay("h4", b, a, "5.00").transaction_id)
    app.settle(UUID(tx[2]), "S-1")
    return [a, b, c, "clearing:EUR", "clearing:USD"], tx


def test_replay_file_equals_the_live_as_of_answers(ledger: Ledger, tmp_path: Path) -> None:
    keys, tx_ids = history(ledger)
    ledger.projector.catch_up()
    live = ledger.queries
    all_tx = [t.id for t in nodes(lambda first, after: live.transactions(None, first, after))]
    assert set(tx_ids) <= set(all_tx)
    instants = ledger.clock.instants
    for index in (2, len(instants) // 2, len(instants) - 3, len(instants) - 1):
        as_of = instants[index] + timedelta(milliseconds=1)
        out = tmp_path / f"replay-{index}.sqlite"
        events = replay_to_sqlite([ledger.source], as_of, out)
        engine = create_engine(f"sqlite:///{out}")
        try:
            replayed = LedgerQueries(engine)
            expected_events = nodes(live.audit_trail, to=as_of)
            assert events == len(expected_events)
            assert nodes(replayed.audit_trail) == expected_events
            for key in keys:
                assert replayed.account(key) == live.account(key, as_of=as_of), (index, key)
                offline_postings = replayed.postings(key, first=500)
                live_postings = live.postings(key, first=500, as_of=as_of)
                assert offline_postings == live_postings
            for tx_id in all_tx:
                assert replayed.transaction(tx_id) == live.transaction(tx_id, as_of=as_of)
            assert replayed.status_history(all_tx) == live.status_history(all_tx, as_of=as_of)
            assert replayed.transactions_by_ids(all_tx) == live.transactions_by_ids(
                all_tx, as_of=as_of
            )
            assert replayed.accounts_by_keys(keys) == live.accounts_by_keys(keys, as_of=as_of)
            then = live.trial_balance(as_of=as_of)
            offline = replayed.trial_balance()
            assert (offline.lines, offline.totals) == (then.lines, then.totals)
            assert [a.key for a in nodes(replayed.accounts)] == sorted(
                a.key for a in nodes(live.accounts) if live.account(a.key, as_of=as_of)
            )
            with engine.connect() as conn:
                info = conn.execute(select(replay_info)).mappings().one()
            assert info["as_of"] == as_of and info["events"] == events
            assert '"ledger"' in info["sources"]
        finally:
            engine.dispose()


def test_replay_refuses_to_overwrite_unless_asked(ledger: Ledger, tmp_path: Path) -> None:
    history(ledger)
    out = tmp_path / "out" / "replay.sqlite"
    first = replay_to_sqlite([ledger.source], ledger.clock.now, out)
    assert first == ledger.source.head()
    with pytest.raises(FileExistsError):
        replay_to_sqlite([ledger.source], START, out)
    assert out.exists()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    assert replay_to_sqlite([ledger.source], START, out, progress, overwrite=True) == 0
    assert seen and seen[-1][0] == seen[-1][1] == ledger.source.head()
    engine = create_engine(f"sqlite:///{out}")
    try:
        replayed = LedgerQueries(engine)
        assert replayed.accounts().edges == []
        assert replayed.trial_balance().totals == []
    finally:
        engine.dispose()
    assert not list(tmp_path.glob("out/*.partial"))
