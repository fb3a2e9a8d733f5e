"""The directory cache's rules without a database: bounded LRU, no caching of a read that a
refresh overtook, a rebuilt projection empties it (and preloads again), a failing refresh keeps
the entries and the position, a cache not refreshed for too long bypasses itself."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from application.vop.ports import DirectoryEntry
from projections.vop.cache import ACCOUNT_TOPICS, DirectoryCache

OPENED, CHANGED, CLOSED = ACCOUNT_TOPICS


def _entry(iban: str, name: str = "John Smith") -> DirectoryEntry:
    return DirectoryEntry(iban, "NATURAL", name, (), (), "OPEN")


class Queries:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, DirectoryEntry]] = {}
        self.reads = 0
        self.during_read: Any = None
        self.engine = None
        self.preloads = 0

    def entries_with_ids(self, ibans: Collection[str]) -> dict[str, tuple[str, DirectoryEntry]]:
        self.reads += 1
        found = {i: self.rows[i] for i in ibans if i in self.rows}
        if self.during_read is not None:
            hook, self.during_read = self.during_read, None
            hook()
        return found

    def all_with_ids(self, limit: int) -> list[tuple[str, DirectoryEntry]]:
        self.preloads += 1
        return list(self.rows.values())[:limit]


class Cache(DirectoryCache):
    position = 0
    failing = False
    events: list[tuple[int, str, str]]

    def projected_position(self) -> int:
        if self.failing:
            raise ConnectionError("database unreachable")
        return self.position


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(size: int = 10, **options: Any) -> tuple[Cache, Queries]:
    queries = Queries()
    cache: Cache

    def changes(after: int, until: int) -> list[tuple[str, str]]:
        return [(t, a) for n, t, a in cache.events if after < n <= until]

    cache = Cache(queries, changes, size=size, **options)  # type: ignore[arg-type]
    cache.events = []
    cache.refresh()
    return cache, queries


def test_least_recently_used_out_first() -> None:
    cache, queries = _cache(size=2)
    for n in range(3):
        queries.rows[f"I{n}"] = (f"a{n}", _entry(f"I{n}"))
    cache.entries(["I0"])
    cache.entries(["I1"])
    cache.entries(["I0"])  # I1 is now the least recently used
    cache.entries(["I2"])
    assert len(cache) == 2
    reads = queries.reads
    cache.entries(["I0", "I2"])
    assert queries.reads == reads  # both in memory
    cache.entries(["I1"])
    assert queries.reads == reads + 1


def test_a_read_overtaken_by_a_refresh_is_not_cached() -> None:
    cache, queries = _cache()
    queries.rows["I1"] = ("a1", _entry("I1", "Old Name"))

    def change() -> None:  # the projection applies a change while the read is in flight
        queries.rows["I1"] = ("a1", _entry("I1", "New Name"))
        cache.events.append((1, CHANGED, "a1"))
        cache.position = 1
        cache.refresh()

    queries.during_read = change
    assert cache.entry("I1") == _entry("I1", "Old Name")  # answered as read ...
    assert cache.entry("I1") == _entry("I1", "New Name")  # ... but not kept


def test_an_opening_drops_the_unknown_ibans_and_a_rebuild_everything() -> None:
    cache, queries = _cache()
    assert cache.entry("I9") is None
    queries.rows["I9"] = ("a9", _entry("I9"))
    assert cache.entry("I9") is None  # cached as unknown
    cache.events.append((1, OPENED, "a9"))
    cache.position = 1
    assert cache.refresh() == 1
    assert cache.entry("I9") == _entry("I9")
    cache.position = 0  # the projection was rebuilt from zero
    cache.refresh()
    assert len(cache) == 0


def test_forget_empties_the_cache_and_stops_caching() -> None:
    cache, queries = _cache()
    queries.rows["I1"] = ("a1", _entry("I1"))
    cache.entry("I1")
    cache.forget()
    assert len(cache) == 0 and not cache.fresh
    cache.entry("I1")
    assert len(cache) == 0  # nothing cached until a refresh succeeds
    cache.refresh()
    cache.entry("I1")
    assert len(cache) == 1


def test_a_failed_refresh_keeps_the_entries_and_follows_on_from_the_last_position() -> None:
    """A transient database error must not empty every pod's cache (a stampede on the read
    model once it is back): the entries stay, and the next refresh invalidates what changed
    meanwhile."""
    cache, queries = _cache()
    queries.rows["I1"] = ("a1", _entry("I1", "Old Name"))
    queries.rows["I2"] = ("a2", _entry("I2"))
    cache.entries(["I1", "I2"])
    cache.failing = True
    cache.start(0.01)  # the follower thread, as in a serving process
    try:
        deadline = time.monotonic() + 10
        while cache.stats.failed_refreshes < 2:
            assert time.monotonic() < deadline, "the follower did not retry"
            time.sleep(0.01)
    finally:
        cache.close()
    assert len(cache) == 2
    queries.rows["I1"] = ("a1", _entry("I1", "New Name"))  # changed while the refresh failed
    cache.events.append((1, CHANGED, "a1"))
    cache.position = 1
    cache.failing = False
    assert cache.refresh() == 1
    reads = queries.reads
    assert cache.entry("I2") == _entry("I2")
    assert queries.reads == reads  # still in memory
    assert cache.entry("I1") == _entry("I1", "New Name")


def test_a_cache_not_refreshed_within_its_bound_reads_the_read_model() -> None:
    clock = Clock()
    cache, queries = _cache(stale_after=5.0, clock=clock)
    queries.rows["I1"] = ("a1", _entry("I1", "Old Name"))
    assert cache.entry("I1") == _entry("I1", "Old Name")
    assert cache.fresh and cache.known(["I1"]) == {"I1": _entry("I1", "Old Name")}
    queries.rows["I1"] = ("a1", _entry("I1", "New Name"))  # the follower is stuck: not seen
    clock.now += 5.1
    assert not cache.fresh
    assert cache.known(["I1"]) is None
    hits, misses = cache.stats.hits, cache.stats.misses
    assert cache.entry("I1") == _entry("I1", "New Name")
    assert (cache.stats.hits, cache.stats.misses) == (hits, misses + 1)
    cache.events.append((1, CHANGED, "a1"))
    cache.position = 1
    cache.refresh()  # the follower recovers
    assert cache.fresh
    assert cache.entry("I1") == _entry("I1", "New Name")
    reads = queries.reads
    assert cache.known(["I1"]) == {"I1": _entry("I1", "New Name")}
    assert queries.reads == reads


def test_a_started_cache_is_stale_after_five_polls() -> None:
    clock = Clock()
    cache, _ = _cache(clock=clock)
    cache.failing = True  # the follower's refreshes fail from now on
    cache.start(60.0)
    try:
        assert cache.stale_after == 300.0
        clock.now += 299.0
        assert cache.fresh
        clock.now += 2.0
        assert not cache.fresh
    finally:
        cache.close()


def test_a_rebuild_preloads_again_when_preload_is_on() -> None:
    queries_rows = {f"I{n}": (f"a{n}", _entry(f"I{n}")) for n in range(3)}
    cache, queries = _cache(preload=True)
    assert queries.preloads == 1  # the first follow
    queries.rows.update(queries_rows)
    cache.position = 5
    cache.refresh()
    assert queries.preloads == 1
    cache.position = 2  # rebuilt, and already past some events
    cache.refresh()
    assert queries.preloads == 2 and len(cache) == 3
    reads = queries.reads
    assert cache.entries(["I0", "I1", "I2"]) == {i: e for i, (_, e) in queries_rows.items()}
    assert queries.reads == reads
