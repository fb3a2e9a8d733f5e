"""Partition leases: one writer per partition, with membership, rebalancing and fencing.

:class:`PartitionLeases` is one replica's membership of a lease group (heartbeat, fair share
by rendezvous hashing, acquisition and release); :func:`check_lease` /
:func:`check_lease_dbapi` / :func:`fenced` prove a lease inside the write transaction and
raise :class:`LeaseLost` when it moved. The protocol and why no two writers of a partition
can commit: docs/scale-out.md.
"""

from adapters.partitions.fencing import (
    Lease,
    LeaseLost,
    NotInTransaction,
    check_lease,
    check_lease_dbapi,
    fenced,
)
from adapters.partitions.leases import PartitionCountChanged, PartitionLeases, default_member_id

__all__ = [
    "Lease",
    "LeaseLost",
    "NotInTransaction",
    "PartitionCountChanged",
    "PartitionLeases",
    "check_lease",
    "check_lease_dbapi",
    "default_member_id",
    "fenced",
]
