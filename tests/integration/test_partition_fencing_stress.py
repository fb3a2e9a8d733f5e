"""Several real member processes writing under their leases while members are killed
(SIGKILL), join, and are paused (SIGSTOP) past the TTL: the fenced writes of every partition
never interleave.

Each writer process (``tests.partition_support``, mode ``write``) loops: for each partition it
owns, one transaction that checks its lease and inserts ``(partition, token, writer)`` into
``fence_writes``, whose ``seq`` is taken after the check. Afterwards, per partition in
``seq`` order: tokens never go down (no write of an older tenure after a newer tenure's first
write), each tenure has one writer, and the partitions of the killed and of the paused member
have moved to a newer tenure. Every phase waits on what the database shows.
"""

from __future__ import annotations

import signal
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from adapters import migrations
from adapters.persistence import DatabaseConfig, read_model_engine
from tests.partition_support import (
    fence_lost,
    fence_writes,
    owned_by,
    owners,
    scratch,
    wait_until,
    worker_command,
)

pytestmark = pytest.mark.postgres

P = 8
GROUP = "ingestion"
TTL = 1.0
HEARTBEAT = 0.1


@pytest.fixture
def engine(postgres_database: DatabaseConfig) -> Iterator[Engine]:
    engine = read_model_engine(postgres_database)
    migrations.upgrade(engine)
    scratch.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


class Members:
    """The writer processes of one test, by name; all of them ended afterwards."""

    def __init__(self, database: DatabaseConfig) -> None:
        self.database = database
        self.running: dict[str, subprocess.Popen[Any]] = {}

    def start(self, name: str) -> None:
        command = worker_command(
            self.database, GROUP, name, partitions=P, ttl=TTL, heartbeat=HEARTBEAT, mode="write"
        )
        self.running[name] = subprocess.Popen(command)

    def live(self) -> list[subprocess.Popen[Any]]:
        return list(self.running.values())

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> list[int]:
        for process in self.running.values():
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in self.running.values()]
        self.running.clear()
        return codes

    def close(self) -> None:
        for process in self.running.values():
            process.kill()
            process.wait(timeout=30)


def _writes(engine: Engine) -> list[tuple[int, int, str]]:
    t = fence_writes
    with engine.connect() as connection:
        rows = connection.execute(select(t.c.partition, t.c.token, t.c.writer).order_by(t.c.seq))
        return [(p, token, writer) for p, token, writer in rows]


def _written_since(engine: Engine, seq: int) -> dict[str, set[int]]:
    """Which partitions each writer wrote after ``seq``."""
    t = fence_writes
    with engine.connect() as connection:
        rows = connection.execute(select(t.c.writer, t.c.partition).where(t.c.seq > seq)).all()
    found: dict[str, set[int]] = defaultdict(set)
    for writer, partition in rows:
        found[writer].add(partition)
    return found


def _written_by_others(engine: Engine, seq: int, member: str) -> set[int]:
    """The partitions writers other than ``member`` wrote after ``seq``."""
    written = _written_since(engine, seq)
    return {p for writer, ps in written.items() if writer != member for p in ps}


def _last_seq(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.coalesce(func.max(fence_writes.c.seq), 0))).scalar_one()
        )


def test_writers_under_leases_never_interleave_through_kills_joins_and_pauses(
    engine: Engine, postgres_database: DatabaseConfig
) -> None:
    members = Members(postgres_database)
    try:
        for name in ("w0", "w1", "w2"):
            members.start(name)
        mark = _last_seq(engine)
        wait_until(
            lambda: (
                all(_written_since(engine, mark).get(n) for n in ("w0", "w1", "w2"))
                and len(set().union(*_written_since(engine, mark).values())) == P
            ),
            what="three writers writing every partition",
            processes=members.live(),
        )

        killed = owned_by(engine, GROUP, "w0")  # w0 is killed with these (maybe mid-write)
        at_kill = owners(engine, GROUP)
        members.kill("w0")
        mark = _last_seq(engine)
        wait_until(
            lambda: killed <= set().union(*_written_since(engine, mark).values()),
            what="the killed member's partitions written by the survivors",
            processes=members.live(),
        )

        members.start("w3")  # joins under load
        mark = _last_seq(engine)
        wait_until(
            lambda: _written_since(engine, mark).get("w3"),
            what="the joining member writing",
            processes=members.live(),
        )

        paused_process = members.running["w1"]
        paused = owned_by(engine, GROUP, "w1")
        before = owners(engine, GROUP)
        mark = _last_seq(engine)
        paused_process.send_signal(signal.SIGSTOP)  # maybe inside a write transaction
        moved = wait_until(  # resumed as soon as a new owner writes: its writes in flight go on
            lambda: paused & _written_by_others(engine, mark, "w1"),
            what="a paused member's partition written by its new owner",
        )
        paused_process.send_signal(signal.SIGCONT)
        mark = _last_seq(engine)
        wait_until(
            lambda: _written_since(engine, mark).get("w1"),
            what="the paused member writing again after it rejoined",
            processes=members.live(),
        )
        assert members.stop_all() == [0, 0, 0]
    finally:
        members.close()

    writes = _writes(engine)
    by_partition: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for partition, token, writer in writes:
        by_partition[partition].append((token, writer))
    assert set(by_partition) == set(range(P))
    for partition, sequence in by_partition.items():
        tokens = [token for token, _ in sequence]
        assert tokens == sorted(tokens), f"partition {partition}: an older tenure wrote late"
        writers: dict[int, set[str]] = defaultdict(set)
        for token, writer in sequence:
            writers[token].add(writer)
        assert all(len(w) == 1 for w in writers.values()), (partition, dict(writers))
    for p in killed:  # written in a newer tenure than the killed member's
        assert max(token for token, _ in by_partition[p]) > at_kill[p][1]
    for p in moved:
        assert max(token for token, _ in by_partition[p]) > before[p][1]
    with engine.connect() as connection:
        refused = connection.execute(select(func.count()).select_from(fence_lost)).scalar_one()
    print(f"writes={len(writes)} refused={refused} killed={sorted(killed)}", end=" ")
    print(f"paused={sorted(paused)} moved={sorted(moved)}")
