"""The tables of the partition leases (created by Alembic revisions 0002 and 0003, never at run
time).

* ``partition_members``: one row per live replica of a lease group (``group_name``, e.g.
  ``ingestion``), with the database time of its last heartbeat. A member whose heartbeat is
  older than the group's ``lease_ttl`` is dead; a member leaving cleanly deletes its row.
* ``partition_leases``: one row per partition of a group: its ``owner`` (a member id, NULL
  when free) and its fencing ``token``, incremented by every acquisition (never by a
  heartbeat), so ``(partition, token)`` names one tenure. A writer checks it inside its own
  write transaction (``adapters.partitions.fencing``).

* ``transit_credits`` (0003): the pending credits of two-step postings, by the creditor's
  partition (below); ``partition_writes`` (0003): the optional trail of fenced writes.

A lease holds as long as its owner is live: the heartbeat touches one row per member, not one
per partition, and never the lease rows a writer's fence check has locked.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, func

metadata = MetaData()

partition_members = Table(
    "partition_members",
    metadata,
    Column("group_name", String(64), primary_key=True),
    Column("member_id", String(128), primary_key=True),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

partition_leases = Table(
    "partition_leases",
    metadata,
    Column("group_name", String(64), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(128), nullable=True),
    Column("token", BigInteger, nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=True),
)

transit_credits = Table(
    "transit_credits",
    metadata,
    Column("transaction_id", String(36), primary_key=True),
    Column("partition", Integer, nullable=False, index=True),
    Column("account_key", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""The credits of two-step postings not applied yet, one row per transaction, keyed by the
creditor's partition: inserted with the ``Posted`` event that leaves the credit pending and
deleted with the ``CreditApplied`` event, in the same database transactions (the event store's
fenced insert), so a credit is never lost nor applied twice. It is an index of the log: every
row is a transaction whose last leg-carrying event is a ``Posted`` with ``credit_pending``."""

partition_writes = Table(
    "partition_writes",
    metadata,
    Column("txid", BigInteger, nullable=False, index=True),
    Column("partition", Integer, nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("member", String(128), nullable=False),
)
"""The fencing's own trail, written only with ``LEDGER_PARTITION_WRITE_LOG=on`` (fault tests,
an investigation): one row per partition a fenced transaction proved, with the database
transaction id (``txid_current()``), so each event of the log (its row's ``xmin``) can be
traced to the lease tenure and the replica that wrote it."""
