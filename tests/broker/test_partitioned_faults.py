"""Partitioned ingestion under faults, with real replicas (issue 14, "It must show" 3).

Each scenario drains a pre-loaded queue with ``ledger serve --role ingestion`` replicas on one
PostgreSQL schema while a fault strikes, then checks on the event log (``Cluster.verify``):
exactly once, conservation, and one writer per partition at any instant. Lease TTL 3 s,
heartbeat 1 s, 16 partitions (``tests.partitioned_support.LEASES``).
"""

from __future__ import annotations

import pytest

from adapters.persistence import DatabaseConfig
from tests.partitioned_support import STOMP, Cluster, Proxy, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MESSAGES = 3000


@pytest.fixture
def cluster_of(postgres_database: DatabaseConfig):  # type: ignore[no-untyped-def]
    made: list[Cluster] = []

    def make(mix: str) -> Cluster:
        cluster = Cluster(postgres_database, mix, MESSAGES)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()


def test_a_replica_killed_while_it_owns_partitions_loses_nothing_and_doubles_nothing(
    cluster_of,  # type: ignore[no-untyped-def]
) -> None:
    cluster = cluster_of("internal")
    cluster.preload()
    first, second = cluster.start(), cluster.start()
    wait_for(lambda: cluster.partitions_of(first) and cluster.partitions_of(second), 60, "a split")
    survivor, killed = cluster.member_of(first), cluster.member_of(second)
    wait_for(lambda: cluster.decided() >= MESSAGES // 4, 120, "a quarter booked")
    # killed while it owns partitions it has written (on a loaded machine the first replica
    # can book a quarter before the second writes at all)
    wait_for(
        lambda: any(killed in cluster.writers().get(p, ()) for p in cluster.partitions_of(second)),
        120,
        "the replica writing its partitions",
    )
    victim = cluster.partitions_of(second)

    cluster.kill(second)

    wait_for(lambda: set(victim) <= set(cluster.partitions_of(first)), 60, "the takeover")
    cluster.wait_done()
    writers, last = cluster.writers(), cluster.last_writers()
    assert any(killed in writers.get(p, ()) for p in victim), "it wrote them before the kill"
    assert all(last.get(p) == survivor for p in victim), "the survivor wrote them after"
    problems = cluster.verify()
    assert not problems, "\n\n".join(problems)


def test_a_replica_joining_under_load_takes_its_share_without_a_double_writer(
    cluster_of,  # type: ignore[no-untyped-def]
) -> None:
    cluster = cluster_of("internal")
    sender = cluster.feed(per_second=300)  # ten seconds of load, arriving all along
    first = cluster.start()
    wait_for(lambda: cluster.decided() >= MESSAGES // 4, 120, "a quarter booked by one replica")

    second = cluster.start()

    wait_for(lambda: cluster.partitions_of(second), 60, "the newcomer's share")
    moved = cluster.partitions_of(second)
    sender.join(120)
    cluster.wait_done()
    assert moved and not set(moved) & set(cluster.partitions_of(first))
    writers = cluster.writers()
    assert all(len(writers.get(p, ())) == 2 for p in moved), "each moved partition changed hands"
    problems = cluster.verify()
    assert not problems, "\n\n".join(problems)


def test_the_broker_connection_of_one_replica_dropped_loses_nothing(
    cluster_of,  # type: ignore[no-untyped-def]
) -> None:
    cluster = cluster_of("mixed")
    proxy = Proxy(STOMP)
    try:
        cluster.preload()
        cluster.start()
        cut = cluster.start(via=proxy)
        wait_for(lambda: cluster.partitions_of(cut), 60, "the proxied replica's share")
        wait_for(lambda: cluster.decided() >= MESSAGES // 4, 120, "a quarter booked")

        assert proxy.drop() >= 1  # it reconnects through the proxy

        cluster.wait_done()
        assert cut.metrics().get("ledger_ingestion_broker_reconnects_total", 0) >= 1
        problems = cluster.verify()
        assert not problems, "\n\n".join(problems)
    finally:
        proxy.close()


def test_several_writers_with_kills_and_restarts_conserve_money(
    cluster_of,  # type: ignore[no-untyped-def]
) -> None:
    """Jepsen-style: three replicas, one SIGKILLed, a fresh one started, another killed."""
    cluster = cluster_of("mixed")
    cluster.preload()
    replicas = [cluster.start() for _ in range(3)]
    wait_for(lambda: all(cluster.partitions_of(r) for r in replicas), 90, "three-way split")
    wait_for(lambda: cluster.decided() >= MESSAGES // 5, 120, "a fifth booked")
    cluster.kill(replicas[0])
    fresh = cluster.start()
    wait_for(lambda: cluster.decided() >= MESSAGES // 2, 120, "half booked")
    cluster.kill(replicas[1])
    wait_for(lambda: cluster.partitions_of(fresh), 60, "the fresh replica's share")
    cluster.wait_done()
    problems = cluster.verify()
    assert not problems, "\n\n".join(problems)
