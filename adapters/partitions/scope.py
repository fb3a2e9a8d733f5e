"""A partitioned writer's scope: the partitions it holds, proved where its events are inserted.

:class:`LeaseScope` is a snapshot of a :class:`~adapters.partitions.leases.PartitionLeases`
member's leases, taken for one batch. The ledger asks it which accounts the batch may write
(:meth:`LeaseScope.owns`); the event store's insert transaction calls :meth:`LeaseScope.prove`
with the unit's :class:`~application.ledger.ports.WriteProof` (the ``write_proof`` keyword that
``Application.save`` hands down to the recorder, see :mod:`adapters.pg_event_store`). In that
one transaction, before the events are inserted, it:

1. checks every lease the written accounts need (one ``SELECT ... FOR SHARE``): a lease that
   moved raises :class:`~adapters.partitions.fencing.LeaseLost` and nothing commits, and a
   lease still held stays share-locked until the commit, so no takeover interleaves;
2. with ``write_log``, records which tenures it proved (``partition_writes``);
3. records the credits the unit left pending (``transit_credits``, by the creditor's
   partition) and deletes those it applied.

:class:`PendingCredits` reads the pending credits of the partitions a writer holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from psycopg import sql
from sqlalchemy import Engine, select

from adapters.partitions.fencing import Lease, LeaseLost, check_leases_dbapi
from adapters.partitions.tables import transit_credits
from application.ledger.ports import PendingCredit, WriteProof
from domain.ledger.partitions import partition_of


class LeaseScope:
    """The accounts of the partitions in ``leases`` (partition -> lease), out of ``partitions``."""

    def __init__(
        self,
        leases: Mapping[int, Lease],
        partitions: int,
        schema: str | None,
        *,
        write_log: bool = False,
    ) -> None:
        self.leases = dict(leases)
        self.partitions = partitions
        self.schema = schema or None
        self.write_log = write_log

    def partition(self, account_key: str) -> int:
        return partition_of(account_key, self.partitions)

    def owns(self, account_key: str) -> bool:
        return self.partition(account_key) in self.leases

    def prove(self, cursor: Any, proof: WriteProof) -> None:
        """Fence and record, on the event store's cursor, inside its insert transaction."""
        needed = {self.partition(key) for key in proof.accounts}
        missing = needed - self.leases.keys()
        if missing:  # the ledger asked owns() first: a bug, never a silent double writer
            partition = min(missing)
            raise LeaseLost(Lease("?", partition, -1, "?"), None, None)
        proved = [self.leases[p] for p in sorted(needed)]
        check_leases_dbapi(cursor, proved, schema=self.schema)
        if self.write_log and proved:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (txid, partition, token, member) "
                    "SELECT txid_current(), unnest(%s::int[]), unnest(%s::bigint[]), %s"
                ).format(self._table("partition_writes")),
                [[x.partition for x in proved], [x.token for x in proved], proved[0].owner],
            )
        if proof.sent:
            cursor.executemany(
                sql.SQL(
                    "INSERT INTO {} (transaction_id, partition, account_key, currency) "
                    "VALUES (%s, %s, %s, %s)"
                ).format(self._table("transit_credits")),
                [
                    (str(c.transaction_id), self.partition(key), key, c.currency)
                    for c in proof.sent
                    for key in (c.account_key,)
                ],
            )
        if proof.applied:
            cursor.execute(
                sql.SQL("DELETE FROM {} WHERE transaction_id = ANY(%s)").format(
                    self._table("transit_credits")
                ),
                [[str(tx_id) for tx_id in proof.applied]],
            )

    def _table(self, name: str) -> sql.Composable:
        if self.schema:
            return sql.Identifier(self.schema, name)
        return sql.Identifier(name)


class PendingCredits:
    """The pending credits of some partitions, oldest first (a read: the credit's writer
    deletes the row in the transaction that applies it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of(self, partitions: Iterable[int], limit: int) -> list[PendingCredit]:
        wanted = sorted(partitions)
        if not wanted:
            return []
        t = transit_credits
        query = (
            select(t.c.transaction_id, t.c.account_key, t.c.currency)
            .where(t.c.partition.in_(wanted))
            .order_by(t.c.created_at, t.c.transaction_id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [PendingCredit(UUID(str(tx)), str(key), str(ccy)) for tx, key, ccy in rows]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return len(connection.execute(select(transit_credits.c.transaction_id)).all())
