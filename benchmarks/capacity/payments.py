"""Payment-shaped events: what the ledger really stores per payment, copied with fresh ids.

:func:`sample_payments` books ``count`` internal transfers through the ledger application the
CLI builds, on a fresh schema, and reads back the rows they added to ``ledger_events``: the
templates (topic, state, version) and the per-payment figures of the real store (rows, state
bytes, table + index bytes, WAL bytes). :func:`batch` turns templates into a batch of new
:class:`StoredEvent` objects for any number of payments: the same topics, states and
versions, every aggregate id replaced by a fresh one, so a batch never conflicts with another
and the table sees the same row sizes and index inserts as the ledger's.
"""

from __future__ import annotations

import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent

from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from benchmarks.scale_out.processes import Destinations, ledger_env, migrate
from benchmarks.workload import customer_ibans, open_and_fund, transfers


@dataclass(frozen=True)
class Template:
    """One stored event of a sampled payment; ``owner`` numbers its aggregate in the sample."""

    owner: int
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class Sample:
    """The rows ``payments`` real payments added, and what they cost the store."""

    payments: int
    templates: list[Template]
    state_bytes: int
    """Sum of ``octet_length(state)`` (the JSON of the events)."""
    row_bytes: int
    """Sum of ``pg_column_size`` of the rows (tuple as stored, before page overhead)."""
    relation_bytes: int
    """Growth of ``pg_total_relation_size`` (heap, indexes, TOAST) while they were booked."""
    wal_bytes: int
    """``pg_wal_lsn_diff`` across the booking (the whole server's WAL: see the docs)."""
    seconds: float
    """Wall time of the booking through the application (one process, batches)."""

    @property
    def rows_per_payment(self) -> float:
        return len(self.templates) / self.payments


def sample_payments(url: str, schema: str, data_dir: Path, count: int, batch: int) -> Sample:
    """Book ``count`` internal transfers (batches of ``batch``) between 200 funded accounts
    through the ledger application on ``schema`` (migrated here) and read back their rows."""
    database = DatabaseConfig(data_dir=data_dir, url=url, schema=schema)
    env = ledger_env(database, ("127.0.0.1", 61613), Destinations.unique("capacity"), {})
    env.pop("LEDGER_STOMP_URL")  # no broker: the application alone
    migrate(env)
    table = f'"{schema}".ledger_events'
    with closing(bootstrap(Settings.from_env(env), migrate=False)) as container:
        customers = customer_ibans(200)
        open_and_fund(container.ledger, customers)
        instructions = list(transfers(customers, count, "CAPACITY"))
        with psycopg.connect(url, autocommit=True) as conn:
            start_id, size_before, lsn_before = _position(conn, table)
            started = time.perf_counter()
            for first in range(0, count, batch):
                container.ledger.submit_payments(instructions[first : first + batch])
            seconds = time.perf_counter() - started
            _, size_after, lsn_after = _position(conn, table)
            wal = conn.execute(
                "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", (lsn_after, lsn_before)
            ).fetchone()
            rows = conn.execute(
                f"SELECT originator_id, originator_version, topic, state, "
                f"pg_column_size(t.*) FROM {table} t WHERE notification_id > %s "
                f"ORDER BY notification_id",
                (start_id,),
            ).fetchall()
    owners: dict[UUID, int] = {}
    templates = [
        Template(owners.setdefault(row[0], len(owners)), int(row[1]), str(row[2]), bytes(row[3]))
        for row in rows
    ]
    return Sample(
        payments=count,
        templates=templates,
        state_bytes=sum(len(t.state) for t in templates),
        row_bytes=sum(int(row[4]) for row in rows),
        relation_bytes=size_after - size_before,
        wal_bytes=int(wal[0]) if wal else 0,
        seconds=seconds,
    )


def _position(conn: psycopg.Connection[tuple[object, ...]], table: str) -> tuple[int, int, str]:
    row = conn.execute(
        f"SELECT coalesce(max(notification_id), 0), pg_total_relation_size('{table}'), "
        f"pg_current_wal_insert_lsn()::text FROM {table}"
    ).fetchone()
    assert row is not None
    return int(str(row[0])), int(str(row[1])), str(row[2])


def batch(templates: list[Template], payments: int, rows_per_payment: float) -> list[StoredEvent]:
    """The events of ``payments`` payments: the first ``payments * rows_per_payment``
    templates (cycled), each aggregate given a fresh id."""
    wanted = max(1, round(payments * rows_per_payment))
    fresh: dict[int, UUID] = {}
    events = []
    for n in range(wanted):
        template = templates[n % len(templates)]
        if n % len(templates) == 0:
            fresh = {}
        owner = fresh.get(template.owner)
        if owner is None:
            owner = fresh[template.owner] = uuid.uuid4()
        events.append(StoredEvent(owner, template.version, template.topic, template.state))
    return events
