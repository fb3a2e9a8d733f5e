"""Partition leases on PostgreSQL: membership, rebalancing by rendezvous hashing, fencing tokens.

Each replica of a lease group (e.g. the ingestion role) is a :class:`PartitionLeases` member.
Every ``heartbeat_interval`` its :meth:`~PartitionLeases.step` (or the :meth:`run` loop):

1. heartbeats: upserts its row of ``partition_members`` with the database's ``now()``;
2. reads the live members (heartbeat within ``lease_ttl`` of the database's ``now()``: the
   pods' clocks never matter) and the lease rows of the group;
3. computes its fair share with rendezvous hashing (:func:`domain.ledger.partitions.share_of`):
   a join or a death moves only about ``P/N`` partitions;
4. lets go of what is no longer its own: partitions taken over while it was paused (already
   lost) and partitions that now belong to another live member, which it releases after
   ``on_revoked`` returned (the caller finishes its in-flight writes there);
5. acquires the partitions of its share that are free or whose owner is dead, each with its
   fencing token incremented in the same ``UPDATE`` (rows a writer has share-locked are
   skipped, ``SKIP LOCKED``, and tried again next step), then calls ``on_assigned``.

:meth:`owned` is the last step's view, without a query; a write still proves its lease in its
own transaction (:mod:`adapters.partitions.fencing`). A lease is valid while its owner is live:
the heartbeat updates one member row, never the lease rows, so it never waits on a writer.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Engine, Float, cast, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from adapters.partitions.fencing import Lease
from adapters.partitions.tables import partition_leases, partition_members
from domain.ledger.partitions import share_of

log = logging.getLogger(__name__)

Revoked = Callable[[frozenset[int]], None]
Assigned = Callable[[Mapping[int, Lease]], None]


class PartitionCountChanged(RuntimeError):
    """This member's partition count is not the one its lease group was made with."""


def default_member_id(group: str) -> str:
    """A member id unique to this process start (host, pid, random suffix)."""
    return f"{group}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:128]


class PartitionLeases:
    """One member of the lease group ``group`` (see the module docstring). Thread-safe:
    :meth:`step` runs one at a time; :meth:`owned` may be read from any thread.

    Two ways to use it: poll (call :meth:`step` between batches, on the consuming thread,
    and write only partitions of the mapping it returns), or run :meth:`run` in a thread
    with callbacks, called on the stepping thread:

    * ``on_revoked(partitions)``: this member must stop writing ``partitions``; it is called
      after :meth:`owned` has dropped them and, for a rebalancing, *before* they are
      released, so it should return once the writes of them in flight have ended (one that
      is still in flight afterwards fails its fence check, or delays the release). Also
      called for partitions found taken over (already lost) and on :meth:`leave`.
    * ``on_assigned(leases)``: the partitions (with their new tokens) acquired by a step.

    An exception from a callback propagates out of :meth:`step`.
    """

    def __init__(
        self,
        engine: Engine,
        group: str,
        *,
        partitions: int = 64,
        lease_ttl: float = 10.0,
        heartbeat_interval: float = 2.0,
        member_id: str | None = None,
        on_assigned: Assigned | None = None,
        on_revoked: Revoked | None = None,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("partition leases need PostgreSQL (row locks, database time)")
        if not 0 < len(group) <= 64:
            raise ValueError(f"a lease group name has 1 to 64 characters, got {group!r}")
        if partitions < 1 or not 0 < heartbeat_interval < lease_ttl:
            raise ValueError("need partitions >= 1 and 0 < heartbeat_interval < lease_ttl")
        self.engine = engine
        self.group = group
        self.partitions = partitions
        self.lease_ttl = lease_ttl
        self.heartbeat_interval = heartbeat_interval
        self.member_id = member_id or default_member_id(group)
        if len(self.member_id) > 128:
            raise ValueError("a member id has at most 128 characters")
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self._owned: Mapping[int, Lease] = MappingProxyType({})
        self._step_lock = threading.Lock()
        self._rows_ready = False
        self._left = False
        self.stepped = threading.Event()
        """Set by the first step that completed: :meth:`owned` is this member's view."""

    # -- what this member holds ----------------------------------------------------------

    def owned(self) -> Mapping[int, Lease]:
        """The leases this member held at its last step (read-only; no query)."""
        return self._owned

    def lease(self, partition: int) -> Lease | None:
        """This member's lease of ``partition`` at its last step, None when not its own."""
        return self._owned.get(partition)

    # -- the protocol --------------------------------------------------------------------

    def step(self) -> Mapping[int, Lease]:
        """Heartbeat, rebalance and return the leases held now (module docstring)."""
        with self._step_lock:
            if self._left:
                return self._owned
            self._ensure_rows()
            before = self._owned
            with self.engine.begin() as connection:
                self._heartbeat(connection)
            with self.engine.begin() as connection:
                live, rows = self._read(connection)
            held = {
                p: Lease(self.group, p, token, self.member_id)
                for p, (o, token) in rows.items()
                if o == self.member_id
            }
            lost = frozenset(p for p in self._owned if self._owned[p] != held.get(p))
            if lost:
                log.warning("partitions %s of %r taken over", sorted(lost), self.group)
                self._set_owned({p: lease for p, lease in self._owned.items() if p not in lost})
                self._revoked(lost)
            share = share_of(self.member_id, live, self.partitions)
            giving = frozenset(p for p in held if p not in share)
            keeping = {p: lease for p, lease in held.items() if p in share}
            if giving:  # (a release that timed out last step is tried again, not revoked)
                revoking = frozenset(p for p in giving if p in self._owned)
                self._set_owned(keeping)
                if revoking:
                    self._revoked(revoking)
                self._release(giving)
            dead_or_free = [
                p
                for p in sorted(share - set(held))
                if p in rows and (rows[p][0] is None or rows[p][0] not in live)
            ]
            gained = self._acquire(dead_or_free) if dead_or_free else {}
            self._set_owned({**keeping, **gained})
            assigned = {p: lease for p, lease in self._owned.items() if before.get(p) != lease}
            if assigned and self.on_assigned is not None:
                self.on_assigned(MappingProxyType(assigned))
            self.stepped.set()
            return self._owned

    def live_members(self) -> list[str]:
        """The members whose heartbeat is within ``lease_ttl`` (database time)."""
        with self.engine.connect() as connection:
            return sorted(self._live(connection))

    def leave(self) -> None:
        """Leave the group for good: stop using every partition (``on_revoked``), release
        them and delete the member row, so the others take over at their next step instead
        of after ``lease_ttl``."""
        with self._step_lock:
            if self._left:
                return
            self._left = True
            mine = frozenset(self._owned)
            self._set_owned({})
            if mine:
                self._revoked(mine)
            m, t = partition_members, partition_leases
            with self.engine.begin() as connection:
                connection.execute(
                    update(t)
                    .where(t.c.group_name == self.group, t.c.owner == self.member_id)
                    .values(owner=None)
                )
                connection.execute(
                    m.delete().where(m.c.group_name == self.group, m.c.member_id == self.member_id)
                )

    def run(self, stop: threading.Event) -> None:
        """Step every ``heartbeat_interval`` until ``stop`` is set, then :meth:`leave`. A
        database error is logged and the next step tries again (the fences keep writes safe
        meanwhile)."""
        try:
            while not stop.is_set():
                try:
                    self.step()
                except DBAPIError as error:
                    log.warning("partition lease step of %r failed: %s", self.group, error)
                stop.wait(self.heartbeat_interval)
        finally:
            try:
                self.leave()
            except DBAPIError as error:  # the others take over after lease_ttl
                log.warning("leaving %r failed: %s", self.group, error)

    # -- statements ----------------------------------------------------------------------

    def _set_owned(self, leases: Mapping[int, Lease]) -> None:
        self._owned = MappingProxyType(dict(leases))

    def _revoked(self, partitions: frozenset[int]) -> None:
        if self.on_revoked is not None:
            self.on_revoked(partitions)

    def _ensure_rows(self) -> None:
        """One lease row per partition (DML, idempotent: the table is the migration's).

        Raises :class:`PartitionCountChanged` when the group's rows were made for another
        partition count: the count decides where every account's pending credits and queued
        messages are (``transit_credits``, the partition queues), so it is fixed for good
        once the group has run; a member with another count must not take part."""
        if self._rows_ready:
            return
        with self.engine.connect() as connection:
            existing = connection.execute(
                select(func.count()).where(partition_leases.c.group_name == self.group)
            ).scalar_one()
        if existing not in (0, self.partitions):
            raise PartitionCountChanged(
                f"lease group {self.group!r} has {existing} partitions, this member was given "
                f"{self.partitions} (LEDGER_PARTITIONS): the count is fixed once the group has "
                f"run; set it back to {existing}"
            )
        rows = [
            {"group_name": self.group, "partition": p, "owner": None, "token": 0}
            for p in range(self.partitions)
        ]
        with self.engine.begin() as connection:
            connection.execute(insert(partition_leases).values(rows).on_conflict_do_nothing())
        self._rows_ready = True

    def _heartbeat(self, connection: Connection) -> None:
        m = partition_members
        statement = insert(m).values(
            group_name=self.group,
            member_id=self.member_id,
            joined_at=func.now(),
            heartbeat_at=func.now(),
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[m.c.group_name, m.c.member_id],
                set_={"heartbeat_at": func.now()},
            )
        )

    def _live_query(self) -> Any:
        m = partition_members
        cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, cast(self.lease_ttl, Float))
        return select(m.c.member_id).where(m.c.group_name == self.group, m.c.heartbeat_at > cutoff)

    def _live(self, connection: Connection) -> frozenset[str]:
        return frozenset(connection.execute(self._live_query()).scalars())

    def _read(
        self, connection: Connection
    ) -> tuple[frozenset[str], dict[int, tuple[str | None, int]]]:
        t = partition_leases
        live = self._live(connection) | {self.member_id}
        rows = connection.execute(
            select(t.c.partition, t.c.owner, t.c.token).where(
                t.c.group_name == self.group, t.c.partition < self.partitions
            )
        ).all()
        return live, {p: (owner, token) for p, owner, token in rows}

    def _release(self, partitions: frozenset[int]) -> None:
        """Give ``partitions`` up (the token stays: the next acquisition increments it). The
        ``UPDATE`` waits for this member's own in-flight fenced writes, at most one heartbeat
        interval; then it is tried again at the next step."""
        t = partition_leases
        try:
            with self.engine.begin() as connection:
                self._lock_timeout(connection)
                connection.execute(
                    update(t)
                    .where(
                        t.c.group_name == self.group,
                        t.c.partition.in_(sorted(partitions)),
                        t.c.owner == self.member_id,
                    )
                    .values(owner=None)
                )
        except DBAPIError as error:
            log.warning("releasing %s of %r waits: %s", sorted(partitions), self.group, error)

    def _acquire(self, partitions: list[int]) -> dict[int, Lease]:
        """Take those of ``partitions`` that are still free or held by a dead member, with a
        new token each, in one statement; a lease row locked by a writer is skipped."""
        t = partition_leases
        with self.engine.begin() as connection:
            candidates = (
                select(t.c.partition)
                .where(
                    t.c.group_name == self.group,
                    t.c.partition.in_(partitions),
                    t.c.owner.is_(None) | t.c.owner.not_in(self._live_query()),
                )
                .with_for_update(skip_locked=True)
                .cte("candidates")
            )
            taken = connection.execute(
                update(t)
                .where(t.c.group_name == self.group, t.c.partition.in_(select(candidates)))
                .values(owner=self.member_id, token=t.c.token + 1, acquired_at=func.now())
                .returning(t.c.partition, t.c.token)
            ).all()
        return {p: Lease(self.group, p, token, self.member_id) for p, token in taken}

    def _lock_timeout(self, connection: Connection) -> None:
        millis = max(1, int(self.heartbeat_interval * 1000))
        connection.execute(text(f"SET LOCAL lock_timeout = {millis}"))
