"""``LEDGER_PARTITIONED_INGESTION``, ``LEDGER_PARTITIONS``, ``LEDGER_PARTITION_LEASE_TTL``,
``LEDGER_PARTITION_HEARTBEAT_INTERVAL``: the partition leases of the scaled-out write path
(adapters/partitions, adapters/messaging/partitioning.py, docs/scale-out.md).

Every replica of a lease group must run with the same values: the partition count decides
which partition an account is in, and the TTL when a silent member counts as dead.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, ValidationInfo, field_validator

from api.runtime.settings import parsing
from api.runtime.settings.base import Section, env

DEFAULT_PARTITIONS = 64
DEFAULT_LEASE_TTL_SECONDS = 10.0
DEFAULT_HEARTBEAT_SECONDS = 2.0


def _on_off(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.lower() not in {"on", "off"}:
        raise ValueError(f"must be on or off, got {value.lower()!r}")
    return value.lower() == "on"


class PartitionSettings(Section):
    """Whether ingestion replicas split the accounts; how many partitions hold them; how soon
    a dead replica's partitions move."""

    ingestion: Annotated[bool, BeforeValidator(_on_off)] = env(
        "LEDGER_PARTITIONED_INGESTION",
        True,
        "`on`: on PostgreSQL, ingestion replicas share the partitions, each writing only its "
        "own (one writer per partition, docs/scale-out.md); `off`: every replica books any "
        "payment, guarded by optimistic concurrency only. Ignored on SQLite (one process)",
    )

    write_log: Annotated[bool, BeforeValidator(_on_off)] = env(
        "LEDGER_PARTITION_WRITE_LOG",
        False,
        "`on`: every fenced write also records the tenures it proved (`partition_writes`: "
        "transaction id, partition, token, replica), to trace each event to its writer; for "
        "fault tests and investigations (it grows with every batch)",
    )
    partitions: Annotated[int, parsing.integer(1, 4096)] = env(
        "LEDGER_PARTITIONS",
        DEFAULT_PARTITIONS,
        "virtual partitions the accounts are hashed into (1-4096), one writer each; the same "
        "on every replica, and the most replicas that share the writes",
    )
    lease_ttl: Annotated[
        float, parsing.seconds(lambda v: 0 < v <= 600, "must be > 0 and <= 600 seconds")
    ] = env(
        "LEDGER_PARTITION_LEASE_TTL",
        DEFAULT_LEASE_TTL_SECONDS,
        "seconds without a heartbeat after which a replica counts as dead and its partitions "
        "move to the others (database time)",
    )
    heartbeat_interval: Annotated[
        float, parsing.seconds(lambda v: 0 < v <= 300, "must be > 0 and <= 300 seconds")
    ] = env(
        "LEDGER_PARTITION_HEARTBEAT_INTERVAL",
        DEFAULT_HEARTBEAT_SECONDS,
        "seconds between a replica's heartbeats (and rebalancing steps); at most half the "
        "lease TTL",
        cross_check=True,
    )

    @field_validator("heartbeat_interval")
    @classmethod
    def _within_ttl(cls, interval: float, info: ValidationInfo) -> float:
        ttl = info.data.get("lease_ttl")
        if ttl is not None and interval * 2 > ttl:
            raise ValueError(
                f"must be at most half of LEDGER_PARTITION_LEASE_TTL ({ttl:g}), got {interval:g}"
            )
        return interval

    def lease_options(self) -> dict[str, float | int]:
        """The keyword arguments of :class:`~adapters.partitions.leases.PartitionLeases`."""
        return self.model_dump(exclude={"ingestion", "write_log"})
