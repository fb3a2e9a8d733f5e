"""The chain follower beside the projections, and the append-only triggers, on both backends."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, select, text

from adapters.audit.append_only import protect
from adapters.persistence import DatabaseConfig
from projections.audit.chain import audit_chain, genesis, make_link
from projections.audit.chain_verify import chain_heads, verify_chain
from projections.base import ProjectionError
from projections.runner.projector import Projector
from projections.runner.sources import EventSource
from projections.tables import rm_projection_tracking
from tests.integration.test_projection_support import Ledger, iban, make_ledger


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    built = make_ledger(database)
    built.open(1, overdraft="1000")
    built.open(2)
    try:
        yield built
    finally:
        built.close()


_external_ids = (f"chain-{n}" for n in itertools.count())


def book(ledger: Ledger, payments: int) -> None:
    for _ in range(payments):
        ledger.pay(next(_external_ids), iban(1), iban(2), "1.00")


def stored(engine: Engine, context: str = "ledger") -> list[tuple[Any, ...]]:
    c = audit_chain.c
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    c.position,
                    c.originator_id,
                    c.originator_version,
                    c.topic,
                    c.event_hash,
                    c.chain_hash,
                )
                .where(c.context == context)
                .order_by(c.position)
            )
        ]


def recomputed(source: EventSource) -> list[tuple[Any, ...]]:
    previous = genesis(source.name)
    links = []
    for notification in source.notifications(0, 100_000):
        link = make_link(source.name, notification, previous)
        previous = link.chain_hash
        links.append(
            (
                link.position,
                link.originator_id,
                link.originator_version,
                link.topic,
                link.event_hash,
                link.chain_hash,
            )
        )
    return links


def test_the_follower_chains_every_event_in_batches_with_its_tracking(ledger: Ledger) -> None:
    projector = Projector(ledger.engine, [ledger.source], batch_size=3, chain=True)
    projector.create_tables()
    book(ledger, 4)
    assert projector.catch_up() > 0
    book(ledger, 3)
    projector.catch_up()

    links = stored(ledger.engine)
    assert links == recomputed(ledger.source)
    assert [p for p, *_ in links] == [n.id for n in ledger.source.notifications(0, 1000)]
    assert projector.positions()[("chain", "ledger")] == ledger.source.head()
    (head,) = chain_heads(ledger.engine, ["ledger"])
    assert (head.position, head.chain_hash) == (links[-1][0], links[-1][-1])
    report = verify_chain(ledger.source, ledger.engine, page=4)
    assert report.ok, report.describe()
    assert (report.events, report.chained, report.tail) == (len(links), len(links), 0)


def test_the_following_projector_chains_new_events_as_they_are_recorded(ledger: Ledger) -> None:
    """``run``: a LISTEN/NOTIFY subscription on PostgreSQL, polling on SQLite."""
    projector = Projector(ledger.engine, [ledger.source], chain=True, poll_interval=0.02)
    projector.create_tables()
    book(ledger, 2)
    stop = threading.Event()
    follower = threading.Thread(target=projector.run, args=(stop,), daemon=True)
    follower.start()
    try:
        assert projector.wait_for({"ledger": ledger.source.head()}, timeout=20)
        book(ledger, 3)
        assert projector.wait_for({"ledger": ledger.source.head()}, timeout=20)
    finally:
        stop.set()
        follower.join(timeout=20)
    assert not follower.is_alive()
    assert stored(ledger.engine) == recomputed(ledger.source)
    assert verify_chain(ledger.source, ledger.engine).tail == 0


def test_events_not_chained_yet_are_the_unchained_tail(ledger: Ledger) -> None:
    projector = Projector(ledger.engine, [ledger.source], projections=[], chain=True)
    projector.create_tables()
    book(ledger, 2)
    projector.catch_up()
    chained = len(stored(ledger.engine))
    book(ledger, 2)
    report = verify_chain(ledger.source, ledger.engine)
    assert report.ok
    assert report.chained == chained
    assert report.tail == ledger.source.head() - chained > 0
    assert report.recomputed_hash == recomputed(ledger.source)[-1][-1]


def test_a_batch_already_chained_is_refused_not_chained_twice(ledger: Ledger) -> None:
    projector = Projector(ledger.engine, [ledger.source], projections=[], chain=True)
    projector.create_tables()
    book(ledger, 1)
    projector.catch_up()
    batch = ledger.source.read(0, 100)
    with ledger.engine.begin() as conn, pytest.raises(ProjectionError, match="already chained"):
        projector.projections[-1].apply(conn, batch)


def test_the_chain_is_never_rebuilt_in_place_and_takes_no_replay_filter(ledger: Ledger) -> None:
    projector = Projector(ledger.engine, [ledger.source], chain=True)
    with pytest.raises(ValueError, match="unknown projection"):
        projector.rebuild("chain")
    with pytest.raises(ValueError, match="event_filter"):
        Projector(ledger.engine, [ledger.source], chain=True, event_filter=lambda _e: True)


def test_two_projectors_chain_each_event_once(ledger: Ledger) -> None:
    first = Projector(ledger.engine, [ledger.source], batch_size=2, chain=True)
    second = Projector(ledger.engine, [ledger.source], batch_size=5, chain=True)
    first.create_tables()
    book(ledger, 3)
    first.catch_up()
    book(ledger, 3)
    second.catch_up()
    first.catch_up()
    assert stored(ledger.engine) == recomputed(ledger.source)


# ----------------------------------------------------------------------------- triggers


def protected(ledger: Ledger) -> None:
    projector = Projector(ledger.engine, [ledger.source], projections=[], chain=True)
    projector.create_tables()
    book(ledger, 2)
    projector.catch_up()
    protect([ledger.app], ledger.engine)
    protect([ledger.app], ledger.engine)  # idempotent


def event_statements(database: DatabaseConfig) -> dict[str, str]:
    if database.url is None:
        return {
            "UPDATE": "UPDATE stored_events SET topic = topic",
            "DELETE": "DELETE FROM stored_events",
        }
    table = f'"{database.schema}".ledger_events'
    return {
        "UPDATE": f"UPDATE {table} SET topic = topic",
        "DELETE": f"DELETE FROM {table}",
        "TRUNCATE": f"TRUNCATE {table}",
    }


def run_on_events(database: DatabaseConfig, statement: str) -> None:
    if database.url is None:
        with sqlite3.connect(database.data_dir / "ledger-events.sqlite") as conn:
            conn.execute(statement)
        return
    with psycopg.connect(database.url) as conn:
        conn.execute(statement)


def test_events_cannot_be_updated_deleted_or_truncated(
    ledger: Ledger, database: DatabaseConfig
) -> None:
    protected(ledger)
    before = ledger.source.notifications(0, 1000)
    for operation, statement in event_statements(database).items():
        error = sqlite3.DatabaseError if database.url is None else psycopg.DatabaseError
        with pytest.raises(error, match=f"{operation} on .*refused: the table is append-only"):
            run_on_events(database, statement)
    assert ledger.source.notifications(0, 1000) == before


def snapshots_table(database: DatabaseConfig) -> str:
    return "stored_snapshots" if database.url is None else f'"{database.schema}".ledger_snapshots'


def test_snapshots_are_protected_too(ledger: Ledger, database: DatabaseConfig) -> None:
    protected(ledger)
    table = snapshots_table(database)
    events = "stored_events" if database.url is None else f'"{database.schema}".ledger_events'
    state = "x'00'" if database.url is None else "'\\x00'::bytea"
    run_on_events(  # a row for the row-level trigger to refuse: at a recorded event's version
        database,
        f"INSERT INTO {table} SELECT originator_id, originator_version, 't', {state} "
        f"FROM {events} LIMIT 1",
    )
    error = sqlite3.DatabaseError if database.url is None else psycopg.DatabaseError
    with pytest.raises(error, match=r"DELETE on .*refused"):
        run_on_events(database, f"DELETE FROM {table}")


def test_a_snapshot_ahead_of_its_events_is_refused(
    ledger: Ledger, database: DatabaseConfig
) -> None:
    """Cheap prevention: a snapshot is only ever taken of recorded events. (A forged snapshot
    at a recorded version is not refused: ``ledger audit verify`` detects it.)"""
    protected(ledger)
    table = snapshots_table(database)
    events = "stored_events" if database.url is None else f'"{database.schema}".ledger_events'
    state = "x'00'" if database.url is None else "'\\x00'::bytea"
    last = f"SELECT originator_id, max(originator_version) AS v FROM {events} GROUP BY 1 LIMIT 1"
    nobody = (
        "'" + "0" * 31 + "1'" if database.url is None else "'00000000-0000-4000-8000-000000000001'"
    )
    error = sqlite3.DatabaseError if database.url is None else psycopg.DatabaseError
    for statement in (
        f"INSERT INTO {table} SELECT originator_id, v + 1, 't', {state} FROM ({last}) AS l",
        f"INSERT INTO {table} SELECT originator_id, 0, 't', {state} FROM ({last}) AS l",
        f"INSERT INTO {table} VALUES ({nobody}, 1, 't', {state})",
    ):
        with pytest.raises(error, match=r"INSERT on .*refused: a snapshot cannot be ahead"):
            run_on_events(database, statement)
    run_on_events(  # at the last recorded version: allowed (the application does this)
        database, f"INSERT INTO {table} SELECT originator_id, v, 't', {state} FROM ({last}) AS l"
    )


def test_the_stored_chain_cannot_be_updated_or_deleted(ledger: Ledger) -> None:
    protected(ledger)
    statements = ["UPDATE audit_chain SET chain_hash = event_hash", "DELETE FROM audit_chain"]
    if ledger.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_chain")
    for statement in statements:
        with (
            pytest.raises(Exception, match="refused: the table is append-only"),
            ledger.engine.begin() as conn,
        ):
            conn.execute(text(statement))
    assert len(stored(ledger.engine)) == ledger.source.head()


def test_the_projection_tracking_stays_writable(ledger: Ledger) -> None:
    protected(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(rm_projection_tracking.update().values(position=0))
