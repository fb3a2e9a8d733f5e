"""Partition leases on a real PostgreSQL (adapters/partitions; docs/scale-out.md).

Members in this process are stepped by hand, so every rebalancing is deterministic; the fault
tests use real member processes (``tests.partition_support``) killed with SIGKILL. Waits are
on conditions read from the database, never fixed sleeps.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import Engine, func, insert, select

from adapters import migrations
from adapters.partitions import (
    LeaseLost,
    NotInTransaction,
    PartitionCountChanged,
    PartitionLeases,
    check_lease,
    check_lease_dbapi,
    fenced,
)
from adapters.partitions.tables import partition_leases
from adapters.persistence import DatabaseConfig, pg_params, read_model_engine
from domain.ledger.partitions import share_of
from tests.partition_support import (
    fence_writes,
    last_heartbeat,
    owned_by,
    owners,
    scratch,
    wait_until,
    worker_command,
)

pytestmark = pytest.mark.postgres

P = 64
GROUP = "ingestion"


@pytest.fixture
def engine(postgres_database: DatabaseConfig) -> Iterator[Engine]:
    engine = read_model_engine(postgres_database)
    migrations.upgrade(engine)
    scratch.create_all(engine)  # the tests' own table of fenced writes
    try:
        yield engine
    finally:
        engine.dispose()


def member(engine: Engine, name: str, *, ttl: float = 30.0, **options: object) -> PartitionLeases:
    return PartitionLeases(
        engine,
        GROUP,
        partitions=P,
        lease_ttl=ttl,
        heartbeat_interval=min(1.0, ttl / 3),
        member_id=name,
        **options,  # type: ignore[arg-type]
    )


def assert_disjoint(*members: PartitionLeases) -> None:
    seen: dict[int, str] = {}
    for m in members:
        for p in m.owned():
            assert p not in seen, f"partition {p} owned by {seen[p]} and {m.member_id}"
            seen[p] = m.member_id


def test_one_member_gets_every_partition(engine: Engine) -> None:
    a = member(engine, "a")
    leases = a.step()
    assert sorted(leases) == list(range(P))
    assert {lease.token for lease in leases.values()} == {1}
    assert all(owner == "a" for owner, _ in owners(engine, GROUP).values())
    assert a.step() == leases  # a heartbeat changes nothing


def test_two_members_split_the_partitions_with_no_partition_owned_twice(engine: Engine) -> None:
    a, b = member(engine, "member-a"), member(engine, "member-b")
    a.step()
    b.step()  # b sees a live owner of its share: waits for a to release it
    assert_disjoint(a, b)
    a.step()  # a releases b's share
    assert_disjoint(a, b)
    b.step()
    assert_disjoint(a, b)
    names = ["member-a", "member-b"]
    assert set(a.owned()) == share_of("member-a", names, P)
    assert set(b.owned()) == share_of("member-b", names, P)
    assert set(a.owned()) | set(b.owned()) == set(range(P))
    assert P / 2 - 12 <= len(a.owned()) <= P / 2 + 12
    assert {lease.token for lease in b.owned().values()} == {2}  # a had them first


def test_a_third_member_joining_moves_only_its_share(engine: Engine) -> None:
    revoked: dict[str, set[int]] = {"a": set(), "b": set()}
    a = member(engine, "a", on_revoked=lambda ps: revoked["a"].update(ps))
    b = member(engine, "b", on_revoked=lambda ps: revoked["b"].update(ps))
    assigned: dict[int, int] = {}
    c = member(
        engine,
        "c",
        on_assigned=lambda leases: assigned.update({p: lease.token for p, lease in leases.items()}),
    )
    a.step(), b.step(), a.step(), b.step()
    revoked["a"].clear()  # a gave b its share: not this test's
    before = owners(engine, GROUP)
    c.step()
    a.step(), b.step()
    c.step()
    after = owners(engine, GROUP)
    assert_disjoint(a, b, c)
    moved = {p for p in range(P) if before[p][0] != after[p][0]}
    share = share_of("c", ["a", "b", "c"], P)
    assert moved == share == set(c.owned()) == set(assigned)
    assert revoked["a"] | revoked["b"] == share and not revoked["a"] & revoked["b"]
    assert all(after[p][1] == before[p][1] + 1 for p in moved)  # a new tenure each
    assert all(after[p] == before[p] for p in range(P) if p not in moved)


def test_a_member_leaving_cleanly_hands_over_at_the_next_step(engine: Engine) -> None:
    a, b = member(engine, "a"), member(engine, "b")
    a.step(), b.step(), a.step(), b.step()
    a.leave()
    assert a.owned() == {}
    assert sorted(b.step()) == list(range(P))
    assert b.live_members() == ["b"]


def test_a_killed_member_loses_its_partitions_to_the_survivors_after_the_ttl(
    engine: Engine, postgres_database: DatabaseConfig
) -> None:
    ttl = 1.0
    victim = subprocess.Popen(
        worker_command(
            postgres_database, GROUP, "victim", partitions=P, ttl=ttl, heartbeat=0.1, mode="hold"
        )
    )
    try:
        wait_until(
            lambda: len(owned_by(engine, GROUP, "victim")) == P,
            what="victim owns all",
            processes=[victim],
        )
        survivor = member(engine, "survivor", ttl=ttl)
        share = share_of("victim", ["victim", "survivor"], P)
        wait_until(  # the survivor steps (heartbeats) all along
            lambda: (
                len(survivor.step()) == P - len(share)
                and owned_by(engine, GROUP, "victim") == share
            ),
            what="victim and survivor each holding their share",
            processes=[victim],
        )
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        dead_at = last_heartbeat(engine, GROUP, "victim")
        before = owners(engine, GROUP)
        wait_until(lambda: len(survivor.step()) == P, what="survivor takes the victim's share")
    finally:
        victim.kill()
        victim.wait(timeout=30)
    after = owners(engine, GROUP)
    assert all(after[p] == ("survivor", before[p][1] + 1) for p in share)
    with engine.connect() as connection:
        acquired = connection.execute(
            select(func.min(partition_leases.c.acquired_at)).where(
                partition_leases.c.partition.in_(sorted(share))
            )
        ).scalar()
    assert acquired - dead_at >= timedelta(seconds=ttl)  # database time: not before the TTL


def _writes(engine: Engine) -> list[tuple[int, int, str]]:
    t = fence_writes
    with engine.connect() as connection:
        rows = connection.execute(select(t.c.partition, t.c.token, t.c.writer).order_by(t.c.seq))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _take_over(engine: Engine, stale: PartitionLeases, taker: PartitionLeases, want: int) -> None:
    """``stale`` stops heartbeating; step ``taker`` until it holds ``want`` partitions."""
    wait_until(lambda: len(taker.step()) == want, what=f"{taker.member_id} holds {want}")


def test_a_stale_owner_is_fenced_off_and_its_write_commits_nothing(engine: Engine) -> None:
    a, b = member(engine, "a", ttl=0.5), member(engine, "b", ttl=0.5)
    stale = a.step()[7]
    _take_over(engine, a, b, P)  # a paused: b takes everything after the TTL
    with pytest.raises(LeaseLost) as lost, engine.begin() as connection:
        connection.execute(insert(fence_writes).values(partition=7, token=stale.token, writer="a"))
        check_lease(connection, stale)  # last, just before the commit: still in time
    assert (lost.value.owner, lost.value.token) == ("b", stale.token + 1)
    assert _writes(engine) == []
    with pytest.raises(LeaseLost), fenced(engine, stale) as connection:
        connection.execute(insert(fence_writes).values(partition=7, token=stale.token, writer="a"))
    assert _writes(engine) == []
    with fenced(engine, b.lease(7)) as connection:  # type: ignore[arg-type]
        connection.execute(
            insert(fence_writes).values(partition=7, token=stale.token + 1, writer="b")
        )
    assert _writes(engine) == [(7, stale.token + 1, "b")]
    revoked: list[frozenset[int]] = []
    a.on_revoked = revoked.append
    a.step()  # a wakes up: learns what it lost before anything else
    assert revoked[0] == frozenset(range(P))


def test_a_write_in_flight_holds_the_takeover_until_it_has_committed(engine: Engine) -> None:
    a, b = member(engine, "a", ttl=0.5), member(engine, "b", ttl=0.5)
    lease = a.step()[3]
    with engine.begin() as connection:
        check_lease(connection, lease)
        _take_over(engine, a, b, P - 1)  # everything but the row share-locked by the write
        assert 3 not in b.owned()
        connection.execute(insert(fence_writes).values(partition=3, token=lease.token, writer="a"))
    wait_until(lambda: 3 in b.step(), what="b takes partition 3 once the write committed")
    with fenced(engine, b.owned()[3]) as connection:
        connection.execute(
            insert(fence_writes).values(partition=3, token=lease.token + 1, writer="b")
        )
    assert _writes(engine) == [(3, lease.token, "a"), (3, lease.token + 1, "b")]


def test_the_fence_on_a_psycopg_connection(
    engine: Engine, postgres_database: DatabaseConfig
) -> None:
    a, b = member(engine, "a", ttl=0.5), member(engine, "b", ttl=0.5)
    stale = a.step()[0]
    params = pg_params(str(postgres_database.url))
    with psycopg.connect(**params) as raw:
        check_lease_dbapi(raw, stale, schema=postgres_database.schema)  # holds: passes
        raw.rollback()
        _take_over(engine, a, b, P)
        with pytest.raises(LeaseLost), raw.cursor() as cursor:
            check_lease_dbapi(cursor, stale, schema=postgres_database.schema)
        raw.rollback()
        check_lease_dbapi(raw, b.owned()[0], schema=postgres_database.schema)
        raw.rollback()
        raw.autocommit = True
        with pytest.raises(NotInTransaction):
            check_lease_dbapi(raw, b.owned()[0], schema=postgres_database.schema)


def test_a_fence_check_outside_a_transaction_is_refused(engine: Engine) -> None:
    """In autocommit its lock would end with the check: it would prove nothing."""
    lease = member(engine, "a").step()[0]
    with engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(NotInTransaction):
            check_lease(autocommit, lease)


def test_a_member_with_another_partition_count_is_refused(engine: Engine) -> None:
    """The count decides where pending credits and queued messages are: fixed once the group
    has run, a member given another one takes no part (and says which count to set)."""
    member(engine, "a").step()
    other = PartitionLeases(engine, GROUP, partitions=P // 2, lease_ttl=30, member_id="b")
    with pytest.raises(PartitionCountChanged, match=f"has {P} partitions"):
        other.step()
    assert owned_by(engine, GROUP, "b") == set()
