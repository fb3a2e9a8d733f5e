"""Fencing: a writer proves, inside its own write transaction, that it still holds its lease.

A :class:`Lease` is one tenure of a partition: ``(group, partition, token, owner)``. Every
acquisition increments the partition's token, so a tenure's token is never seen again. Before
it commits, a write of partition ``p`` calls :func:`check_lease` (a SQLAlchemy connection) or
:func:`check_lease_dbapi` (a psycopg connection or cursor, e.g. the event store's) in the
same transaction. The check reads the lease row ``FOR SHARE``:

* if another member has taken the partition over (owner or token moved, committed before the
  check), it raises :class:`LeaseLost` and the caller rolls back: nothing of it commits;
* otherwise the row stays share-locked until the write transaction ends, and a takeover (an
  ``UPDATE`` of that row, which needs a lock that conflicts with ``FOR SHARE``) cannot commit
  before the write has committed or rolled back.

So on each partition every write of tenure ``t`` commits before tenure ``t+1`` exists, and
every write of ``t+1`` starts after: there is no instant at which two writers can both commit
(docs/scale-out.md). The check must run on the connection that writes, in READ COMMITTED (the
default; under REPEATABLE READ a takeover after the snapshot is a serialisation failure: also
nothing commits), and the lease tables must live in the database the writes go to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg import sql
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, select

from adapters.partitions.tables import partition_leases


@dataclass(frozen=True, slots=True)
class Lease:
    """One tenure of a partition: held by ``owner`` with fencing ``token``."""

    group: str
    partition: int
    token: int
    owner: str


class LeaseLost(RuntimeError):
    """The lease a write relied on is gone: another member took the partition over (or this
    member released it). The write transaction must roll back; nothing of it may commit."""

    def __init__(self, lease: Lease, owner: str | None, token: int | None) -> None:
        self.lease = lease
        self.owner = owner
        self.token = token
        super().__init__(
            f"partition {lease.partition} of {lease.group!r}: lease {lease.token} of "
            f"{lease.owner!r} lost (now {'free' if owner is None else repr(owner)}, "
            f"token {token})"
        )


class NotInTransaction(RuntimeError):
    """The fence check ran outside a transaction (autocommit): its lock would end at once,
    so it would prove nothing about the writes that follow."""


class _Executes(Protocol):
    """A psycopg connection or cursor: ``execute`` returns something with ``fetchone``."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...


def _values(row: Any, count: int) -> tuple[Any, ...]:
    """A row's first ``count`` values, whether a tuple or a dict (the event store's
    connections use psycopg's ``dict_row``)."""
    if isinstance(row, Mapping):
        return tuple(row.values())[:count]
    return tuple(row)[:count]


def _verify(lease: Lease, row: Any) -> None:
    if row is None:
        raise LeaseLost(lease, None, None)
    owner, token = _values(row, 2)
    if owner != lease.owner or token != lease.token:
        raise LeaseLost(lease, owner, token)


def check_lease(connection: Connection, lease: Lease) -> None:
    """Raise :class:`LeaseLost` unless ``lease`` still holds; otherwise share-lock it until
    ``connection``'s transaction ends. Call it inside the write transaction."""
    t = partition_leases
    row = connection.execute(
        select(t.c.owner, t.c.token)
        .where(t.c.group_name == lease.group, t.c.partition == lease.partition)
        .with_for_update(read=True)
    ).one_or_none()
    driver = connection.connection.driver_connection
    status = getattr(getattr(driver, "info", None), "transaction_status", None)
    if status is not None and status != TransactionStatus.INTRANS:
        raise NotInTransaction("check_lease must run inside the write transaction")
    _verify(lease, row)


def check_lease_dbapi(target: _Executes, lease: Lease, *, schema: str | None = None) -> None:
    """:func:`check_lease` on a psycopg connection or cursor (``schema``: where the lease
    table is, when it is not on the connection's ``search_path``)."""
    table = (
        sql.Identifier(schema, "partition_leases") if schema else sql.Identifier("partition_leases")
    )
    query = sql.SQL(
        "SELECT owner, token FROM {} WHERE group_name = %s AND partition = %s FOR SHARE"
    ).format(table)
    result = target.execute(query, (lease.group, lease.partition))
    row = result.fetchone()
    connection: Any = getattr(target, "connection", target)
    if connection.info.transaction_status != TransactionStatus.INTRANS:
        raise NotInTransaction("check_lease_dbapi must run inside the write transaction")
    _verify(lease, row)


def check_leases_dbapi(
    target: _Executes, leases: Sequence[Lease], *, schema: str | None = None
) -> None:
    """:func:`check_lease_dbapi` for several leases of one group in one statement (all
    share-locked until the transaction ends; the first that moved raises :class:`LeaseLost`)."""
    if not leases:
        return
    groups = {lease.group for lease in leases}
    if len(groups) != 1:
        raise ValueError("the leases of one check belong to one group")
    table = (
        sql.Identifier(schema, "partition_leases") if schema else sql.Identifier("partition_leases")
    )
    query = sql.SQL(
        "SELECT partition, owner, token FROM {} WHERE group_name = %s AND partition = ANY(%s) "
        "ORDER BY partition FOR SHARE"
    ).format(table)
    result = target.execute(query, (leases[0].group, [lease.partition for lease in leases]))
    rows = {
        int(partition): (owner, token)
        for partition, owner, token in (_values(row, 3) for row in result.fetchall())
    }
    connection: Any = getattr(target, "connection", target)
    if connection.info.transaction_status != TransactionStatus.INTRANS:
        raise NotInTransaction("check_leases_dbapi must run inside the write transaction")
    for lease in leases:
        _verify(lease, rows.get(lease.partition))


@contextlib.contextmanager
def fenced(engine: Engine, lease: Lease) -> Iterator[Connection]:
    """A write transaction of ``lease``'s partition: checked first, committed on leaving the
    block (rolled back on an exception, :class:`LeaseLost` included)."""
    with engine.begin() as connection:
        check_lease(connection, lease)
        yield connection
