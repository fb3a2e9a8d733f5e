"""eventsourcing's PostgreSQL event store, with every libpq parameter of the database URL.

eventsourcing 9.5's ``PostgresFactory`` builds its psycopg pool from ``POSTGRES_DBNAME``,
``POSTGRES_HOST``, ``POSTGRES_PORT``, ``POSTGRES_USER`` and ``POSTGRES_PASSWORD`` only: no
``sslmode``, ``sslrootcert``, ``target_session_attrs``... :class:`LibpqPostgresFactory` is that
factory plus one setting, :data:`LIBPQ_PARAMS` (a libpq ``key=value`` string), whose
parameters it adds to the pool's connection keywords before the pool opens. Several hosts
need nothing more: ``POSTGRES_HOST=h1,h2`` and ``POSTGRES_PORT=5432,5433`` are libpq lists.
Selected by ``PERSISTENCE_MODULE`` = :data:`LIBPQ_FACTORY_TOPIC`.

Its recorders' subscriptions (:class:`ListenFirstSubscription`) also close a race of
eventsourcing 9.5's: the subscription reads what is recorded before its ``LISTEN`` is in
effect, so an event committed between that first read and the ``LISTEN`` was not seen until
the next event woke the subscription (a projector started just before a write waited forever).

They also answer the :class:`~application.ports.StoredVersions` port
(:meth:`ListenFirstRecorder.current_versions`): many aggregates' current versions in one query.

They insert a batch as four typed arrays in binary (``uuid[]``, ``int8[]``, ``text[]``,
``bytea[]``, dumped by psycopg's C dumpers) instead of eventsourcing's one array of composite
values in text, which psycopg dumps in Python *after* the table lock is taken: the same rows,
lock and NOTIFY, the lock held about 3.4x shorter (docs/capacity.md).

And they prove a partitioned writer's scope in the insert transaction: a ``write_proof``
(:class:`~application.ledger.ports.WriteProof`) handed to ``Application.save`` reaches
:meth:`ListenFirstRecorder._insert_events`, which runs its scope's ``prove`` on the insert's
cursor, before the table lock and the insert (:mod:`adapters.partitions.scope`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactoryError,
    StoredEvent,
    Subscription,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresSubscription,
)
from eventsourcing.utils import Environment, EnvType
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier

LIBPQ_PARAMS = "POSTGRES_LIBPQ_PARAMS"
LIBPQ_FACTORY_TOPIC = "adapters.pg_event_store:LibpqPostgresFactory"
_TAKEN_BY_EVENTSOURCING = frozenset({"host", "port", "user", "password", "dbname"})


def libpq_extra(params: Mapping[str, str]) -> str:
    """The parameters of ``params`` that eventsourcing does not take from ``POSTGRES_*``, as
    a libpq ``key=value`` string (quoted as libpq wants)."""
    return make_conninfo(
        "", **{k: v for k, v in params.items() if k not in _TAKEN_BY_EVENTSOURCING}
    )


class ListenFirstSubscription(PostgresSubscription):
    """eventsourcing's LISTEN/NOTIFY subscription that reads the log once more as soon as its
    ``LISTEN`` is in effect.

    eventsourcing starts the first read (its pull thread) before the ``LISTEN`` (its listen
    thread): a commit in between notified nobody, and the subscription slept until the next
    one. Reading again after the ``LISTEN`` sees every such commit; every later one notifies.
    """

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                self._has_been_notified.set()  # the read again: commits before the LISTEN
                while not self._has_been_stopped and not self._thread_error:
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
        except BaseException as error:
            if self._thread_error is None:
                self._thread_error = error
            self.stop()


class ListenFirstRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder whose subscriptions are :class:`ListenFirstSubscription`,
    and which tells many aggregates' current versions at once (:meth:`current_versions`)."""

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return ListenFirstSubscription(recorder=self, gt=gt, topics=topics)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.insert_arrays_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        """Lock, notify and insert (as eventsourcing does), the batch as typed arrays."""
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.insert_arrays_statement,
            (
                [event.originator_id for event in stored_events],
                [event.originator_version for event in stored_events],
                [event.topic for event in stored_events],
                [event.state for event in stored_events],
            ),
        )

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """eventsourcing's hook inside the insert transaction, before its table lock: prove
        the writer's scope (fence check, pending credits) when the unit handed one."""
        super()._insert_events(curs, stored_events, **kwargs)
        proof = kwargs.get("write_proof")
        prove = getattr(getattr(proof, "scope", None), "prove", None)
        if prove is not None:  # a scope without ``prove`` only limits what the unit writes
            prove(curs, proof)

    def select_events_of(self, originator_ids: Collection[UUID]) -> dict[UUID, list[StoredEvent]]:
        """The stored events of many aggregates, each in version order, in one query (the
        :class:`~application.ports.BulkEvents` port: one read instead of one per aggregate)."""
        if not originator_ids:
            return {}
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, [list(originator_ids)])
            for row in cursor.fetchall():
                originator_id = UUID(str(row["originator_id"]))
                found.setdefault(originator_id, []).append(
                    StoredEvent(
                        originator_id=originator_id,
                        originator_version=int(row["originator_version"]),
                        topic=str(row["topic"]),
                        state=bytes(row["state"]),
                    )
                )
        return found

    def current_versions(self, originator_ids: Collection[UUID]) -> dict[UUID, int]:
        """The highest stored version of each of ``originator_ids`` that has events, in one
        query (``= ANY`` of one array parameter; the primary key (originator_id,
        originator_version) answers each id by an index seek). It reads outside the table
        lock that inserts take, so it never waits for another writer's commit."""
        if not originator_ids:
            return {}
        statement = SQL(
            "SELECT originator_id, MAX(originator_version) AS version FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, [list(originator_ids)])
            return {
                UUID(str(row["originator_id"])): int(row["version"]) for row in cursor.fetchall()
            }


class LibpqPostgresFactory(PostgresFactory):
    """``PostgresFactory`` whose pool also gets the parameters in :data:`LIBPQ_PARAMS`, and
    whose application recorders subscribe without the race above."""

    application_recorder_class = ListenFirstRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        raw = self.env.get(LIBPQ_PARAMS) or ""
        try:
            extra = conninfo_to_dict(raw)
        except ProgrammingError as error:
            raise InfrastructureFactoryError(f"{LIBPQ_PARAMS}: {error}") from None
        taken = _TAKEN_BY_EVENTSOURCING & extra.keys()
        if taken:
            raise InfrastructureFactoryError(
                f"{LIBPQ_PARAMS}: {', '.join(sorted(taken))} belong in POSTGRES_* settings"
            )
        kwargs = self.datastore.pool.kwargs
        if not isinstance(kwargs, dict):  # pragma: no cover - eventsourcing passes a dict
            raise InfrastructureFactoryError("eventsourcing's pool takes no keyword dict")
        kwargs.update(extra)  # the pool opens on first use, so every connection has them
