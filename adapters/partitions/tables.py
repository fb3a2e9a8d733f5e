"""The two tables of the partition leases (created by Alembic revision 0002, never at run time).

* ``partition_members``: one row per live replica of a lease group (``group_name``, e.g.
  ``ingestion``), with the database time of its last heartbeat. A member whose heartbeat is
  older than the group's ``lease_ttl`` is dead; a member leaving cleanly deletes its row.
* ``partition_leases``: one row per partition of a group: its ``owner`` (a member id, NULL
  when free) and its fencing ``token``, incremented by every acquisition (never by a
  heartbeat), so ``(partition, token)`` names one tenure. A writer checks it inside its own
  write transaction (``adapters.partitions.fencing``).

A lease holds as long as its owner is live: the heartbeat touches one row per member, not one
per partition, and never the lease rows a writer's fence check has locked.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table

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
