"""The directory cache's rules without a database: bounded LRU, no caching of a read that a
refresh overtook, a rebuilt projection empties it, a failing refresh empties it."""

from __future__ import annotations

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

    def entries_with_ids(self, ibans: Collection[str]) -> dict[str, tuple[str, DirectoryEntry]]:
        self.reads += 1
        found = {i: self.rows[i] for i in ibans if i in self.rows}
        if self.during_read is not None:
            hook, self.during_read = self.during_read, None
            hook()
        return found


class Cache(DirectoryCache):
    position = 0
    events: list[tuple[int, str, str]]

    def projected_position(self) -> int:
        return self.position


def _cache(size: int = 10) -> tuple[Cache, Queries]:
    queries = Queries()
    cache: Cache

    def changes(after: int, until: int) -> list[tuple[str, str]]:
        return [(t, a) for n, t, a in cache.events if after < n <= until]

    cache = Cache(queries, changes, size=size)  # type: ignore[arg-type]
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


def test_a_failed_refresh_empties_the_cache_and_stops_caching() -> None:
    cache, queries = _cache()
    queries.rows["I1"] = ("a1", _entry("I1"))
    cache.entry("I1")
    cache.forget()  # what the follower does when a refresh raised
    assert len(cache) == 0
    cache.entry("I1")
    assert len(cache) == 0  # nothing cached until a refresh succeeds
    cache.refresh()
    cache.entry("I1")
    assert len(cache) == 1
