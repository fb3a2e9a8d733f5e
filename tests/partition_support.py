"""Partition lease tests' support: a real member process, the scratch table of fenced writes,
and a wait on conditions.

``python -m tests.partition_support URL SCHEMA GROUP MEMBER PARTITIONS TTL HEARTBEAT MODE`` runs
one member of the lease group until SIGTERM (then it leaves cleanly) or SIGKILL:

* ``hold``: steps every heartbeat interval, writes nothing;
* ``write``: steps in a background thread and, in the main thread, loops over the partitions
  it owns, writing one row of ``fence_writes`` (partition, token, writer) per partition in a
  fenced transaction; a :class:`LeaseLost` is counted in ``fence_lost``. Its sessions are
  killed by PostgreSQL after 2 s idle inside a transaction, as production should configure
  (``idle_in_transaction_session_timeout``): a writer paused mid-transaction holds its lease
  row share-locked, and the takeover waits for that session to end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError

from adapters.partitions import LeaseLost, PartitionLeases, check_lease
from adapters.partitions.tables import partition_leases, partition_members
from adapters.persistence import DatabaseConfig, read_model_engine

scratch = MetaData()
fence_writes = Table(
    "fence_writes",
    scratch,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("partition", Integer, nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("writer", Text, nullable=False),
)
"""One row per fenced write; ``seq`` (a sequence, taken after the fence check inside the
write transaction) orders the writes of different tenures of a partition as they committed."""
fence_lost = Table(
    "fence_lost",
    scratch,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("partition", Integer, nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("writer", Text, nullable=False),
)
"""One row per write refused by its fence check (written outside the refused transaction)."""

IDLE_IN_TRANSACTION_MS = 2000
WORK_SECONDS = 0.01
"""How long a write transaction works between its fence check and its insert."""


def wait_until(
    condition: Callable[[], Any],
    timeout: float = 60.0,
    what: str = "",
    processes: Sequence[subprocess.Popen[Any]] = (),
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``, or at
    once when one of ``processes`` (member processes expected to run) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        exited = [p.args for p in processes if p.poll() is not None]
        if exited:
            raise AssertionError(f"member process exited while waiting for {what}: {exited}")
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.02)


def owners(engine: Engine, group: str) -> dict[int, tuple[str | None, int]]:
    """Each partition's (owner, token) as the database says now."""
    t = partition_leases
    with engine.connect() as connection:
        rows = connection.execute(
            select(t.c.partition, t.c.owner, t.c.token).where(t.c.group_name == group)
        ).all()
    return {p: (owner, token) for p, owner, token in rows}


def owned_by(engine: Engine, group: str, member: str) -> set[int]:
    return {p for p, (owner, _) in owners(engine, group).items() if owner == member}


def last_heartbeat(engine: Engine, group: str, member: str) -> Any:
    m = partition_members
    with engine.connect() as connection:
        return connection.execute(
            select(m.c.heartbeat_at).where(m.c.group_name == group, m.c.member_id == member)
        ).scalar()


def worker_command(
    database: DatabaseConfig,
    group: str,
    member: str,
    *,
    partitions: int,
    ttl: float,
    heartbeat: float,
    mode: str,
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.partition_support",
        str(database.url),
        str(database.schema),
        group,
        member,
        str(partitions),
        str(ttl),
        str(heartbeat),
        mode,
    ]


def _write_loop(engine: Engine, leases: PartitionLeases, stop: threading.Event) -> None:
    while not stop.is_set():
        owned = list(leases.owned().values())
        if not owned:
            stop.wait(0.01)
            continue
        for lease in owned:
            try:
                with engine.begin() as connection:
                    check_lease(connection, lease)
                    time.sleep(WORK_SECONDS)  # the batch's work: a pause may land here
                    connection.execute(
                        insert(fence_writes).values(
                            partition=lease.partition, token=lease.token, writer=lease.owner
                        )
                    )
            except LeaseLost:
                try:
                    with engine.begin() as connection:
                        connection.execute(
                            insert(fence_lost).values(
                                partition=lease.partition, token=lease.token, writer=lease.owner
                            )
                        )
                except DBAPIError:
                    pass
            except DBAPIError:  # the session was ended (idle in transaction): try again
                pass
        stop.wait(0.005)


def main(argv: list[str]) -> None:
    url, schema, group, member, partitions, ttl, heartbeat, mode = argv
    options = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"
    separator = "&" if "?" in url else "?"
    database = DatabaseConfig(
        data_dir=Path("."),
        url=f"{url}{separator}options={quote(options, safe='')}",
        schema=schema,
    )
    engine = read_model_engine(database)
    leases = PartitionLeases(
        engine,
        group,
        partitions=int(partitions),
        lease_ttl=float(ttl),
        heartbeat_interval=float(heartbeat),
        member_id=member,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if mode == "hold":
        leases.run(stop)
        return
    stepper = threading.Thread(target=leases.run, args=(stop,), daemon=True)
    stepper.start()
    try:
        _write_loop(engine, leases, stop)
    finally:
        stop.set()
        stepper.join()
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
