"""The ledger's event-store recorder with a stopwatch on its table lock.

:class:`TimedRecorder` is the recorder every ledger process writes with
(:class:`adapters.pg_event_store.ListenFirstRecorder`, i.e. eventsourcing's
``PostgresApplicationRecorder``), unchanged in what it sends, plus two timestamps read from
PostgreSQL's own clock inside the insert transaction:

* ``locked_at``: a ``SELECT clock_timestamp()`` queued in the same pipeline right after
  ``LOCK TABLE ... IN EXCLUSIVE MODE``: the server reaches it the moment the lock is granted;
* ``inserted_at``: ``clock_timestamp()`` added to the ``INSERT``'s ``RETURNING`` list (its
  first row): when the server starts inserting the batch.

With the client's ``time.time()`` before the call and after it returns (COMMIT acknowledged),
on the same host and so the same clock, that splits one batch into: waiting for the lock,
holding it before the INSERT runs (the client still encoding the batch: eventsourcing queues
the LOCK before psycopg dumps the array of events), the INSERT and COMMIT (WAL flush). The
lock is held from ``locked_at`` until COMMIT: that is the serial section every writer of the
table shares. Nothing else changes: the extra SELECT and RETURNING column cost microseconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import Environment
from psycopg import Cursor
from psycopg.adapt import PyFormat, Transformer
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from adapters.persistence import DatabaseConfig, event_store_env
from adapters.pg_event_store import LibpqPostgresFactory, ListenFirstRecorder

TABLE_PREFIX = "capacity"
"""The benchmark's event table is ``capacity_events`` in the schema it is given."""


@dataclass(frozen=True)
class BatchTiming:
    """One insert transaction, in seconds of the host's wall clock."""

    events: int
    requested: float
    locked: float
    inserted: float
    committed: float

    @property
    def wait_s(self) -> float:
        """From the call to the lock granted (queueing behind other writers)."""
        return max(self.locked - self.requested, 0.0)

    @property
    def hold_s(self) -> float:
        """From the lock granted to COMMIT acknowledged: the table's serial section."""
        return max(self.committed - self.locked, 0.0)

    @property
    def before_insert_s(self) -> float:
        """Lock held while the INSERT had not started (the client encoding the batch)."""
        return max(self.inserted - self.locked, 0.0)


class TimedRecorder(ListenFirstRecorder):
    """The production recorder that also records a :class:`BatchTiming` per insert."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.insert_events_statement += SQL(", clock_timestamp() AS inserted_at")
        self.insert_arrays_statement += SQL(", clock_timestamp() AS inserted_at")
        self.timings: list[BatchTiming] = []
        self._stamp: Cursor[DictRow] | None = None
        self._inserted_at = 0.0

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        super()._lock_table(curs)
        self._stamp = curs.connection.cursor()
        self._stamp.execute("SELECT clock_timestamp() AS locked_at")

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        rows = curs.fetchall()
        self._inserted_at = min(row["inserted_at"] for row in rows).timestamp()
        return [row["notification_id"] for row in rows]

    def timed_insert(self, stored_events: Sequence[StoredEvent]) -> BatchTiming:
        """``insert_events`` (the production path), timed."""
        requested = time.time()
        self.insert_events(stored_events)
        committed = time.time()
        assert self._stamp is not None
        row = self._stamp.fetchone()
        assert row is not None
        timing = BatchTiming(
            events=len(stored_events),
            requested=requested,
            locked=row["locked_at"].timestamp(),
            inserted=self._inserted_at,
            committed=committed,
        )
        self.timings.append(timing)
        return timing

    def backend_pid(self) -> int:
        """The PostgreSQL backend of this recorder's one pooled connection."""
        with self.datastore.get_connection() as conn:
            return int(conn.info.backend_pid)


class ArraysRecorder(TimedRecorder):
    """The change docs/capacity.md proposes for the insert, timed the same way: the batch as
    four typed arrays (``uuid[]``, ``int8[]``, ``text[]``, ``bytea[]``) in binary, dumped by
    psycopg's C dumpers, instead of one array of composite values in text, which psycopg dumps
    in Python while the table is locked. Same table, same rows, same LOCK and NOTIFY."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.insert_arrays_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id, clock_timestamp() AS inserted_at"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_arrays_statement, arrays(stored_events))


def arrays(stored_events: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    """The four columns of ``stored_events``, one list each."""
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


RECORDERS = {"production": TimedRecorder, "typed arrays": ArraysRecorder}
"""The insert paths the benchmark times, by the name it prints."""


def timed_recorder(
    url: str, schema: str, *, create_table: bool = False, variant: str = "production"
) -> TimedRecorder:
    """A :class:`TimedRecorder` (or another of :data:`RECORDERS`) on
    ``schema.capacity_events`` with a one-connection pool (one writer, one backend), built by
    the factory the ledger uses (every libpq parameter of ``url`` kept); ``create_table``
    makes the table, its indexes and its composite type."""
    config = DatabaseConfig(data_dir=Path("."), url=url, schema=schema)
    env = event_store_env(config, TABLE_PREFIX)
    env.update(
        {
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": "0",
            "APPLICATION_RECORDER_TOPIC": f"{__name__}:{RECORDERS[variant].__name__}",
            "CREATE_TABLE": "y" if create_table else "n",
        }
    )
    factory = LibpqPostgresFactory(Environment(TABLE_PREFIX, env))
    recorder = factory.application_recorder()
    assert isinstance(recorder, TimedRecorder)
    return recorder


@dataclass(frozen=True)
class InsertWal:
    """The WAL one batch's INSERT wrote (``EXPLAIN (ANALYZE, WAL)``: this statement's own)."""

    events: int
    records: int
    full_page_images: int
    bytes: int


def explain_wal(recorder: TimedRecorder, stored_events: Sequence[StoredEvent]) -> InsertWal:
    """Insert ``stored_events`` with the recorder's own INSERT under ``EXPLAIN (ANALYZE,
    WAL)`` and commit: the WAL of this statement alone, whatever else the server is doing
    (``pg_current_wal_lsn`` differences count every database's writes). The commit record
    (some tens of bytes per transaction) is not in it."""
    pg_events = [
        recorder.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
        for e in stored_events
    ]
    statement = SQL("EXPLAIN (ANALYZE, WAL, FORMAT JSON) ") + recorder.insert_events_statement
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        recorder._lock_table(curs)
        curs.execute(statement, (pg_events,))
        row = curs.fetchone()
    assert row is not None
    plan = next(iter(row.values()))[0]["Plan"]
    return InsertWal(
        events=len(stored_events),
        records=int(plan.get("WAL Records", 0)),
        full_page_images=int(plan.get("WAL FPI", 0)),
        bytes=int(plan.get("WAL Bytes", 0)),
    )


def encoding_s(recorder: TimedRecorder, stored_events: Sequence[StoredEvent]) -> float:
    """Client CPU seconds to turn ``stored_events`` into the INSERT's parameter (the
    composite values and psycopg's dump of their array): what eventsourcing does after
    queueing the LOCK. A writer waiting for the lock does it while another holds it; a
    writer alone does it holding the lock."""
    with recorder.datastore.get_connection() as conn:
        transformer = Transformer(conn)
        started = time.process_time()
        if isinstance(recorder, ArraysRecorder):
            transformer.dump_sequence(arrays(stored_events), [PyFormat.BINARY] * 4)
            return time.process_time() - started
        pg_events = [
            recorder.construct_pg_stored_event(
                e.originator_id, e.originator_version, e.topic, e.state
            )
            for e in stored_events
        ]
        transformer.dump_sequence([pg_events], [PyFormat.AUTO])
        return time.process_time() - started
