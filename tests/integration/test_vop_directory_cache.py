"""The responder's in-process directory cache (:mod:`projections.vop.cache`), invalidated from
the ledger's log for real, on SQLite and PostgreSQL.

A cached entry is answered from memory until the ``vop_directory`` projection has applied an
event that changes it (``HolderDetailsChanged``, ``Closed``; an ``Opened`` for an IBAN cached
as unknown); then the next refresh drops it and the next lookup reads what the projection
wrote. Entries nothing changed stay cached. The follower thread does this by itself.
"""

from __future__ import annotations

import time
from decimal import Decimal

from adapters.persistence import DatabaseConfig
from application.ledger.commands import OpenAccount
from domain.iban import Iban
from domain.ledger.holders import HolderDetails, holder_details
from projections.vop.cache import DirectoryCache, recorder_changes
from projections.vop.queries import DirectoryQueries
from tests.integration.test_projection_support import iban, make_ledger


def _open(app: object, n: int, name: str, details: HolderDetails | None = None) -> None:
    command = OpenAccount(Iban(iban(n)), name, "EUR", Decimal(0), details or HolderDetails())
    app.open_account(command)  # type: ignore[attr-defined]


def test_the_cache_drops_what_the_projection_changed(database: DatabaseConfig) -> None:
    ledger = make_ledger(database)
    app = ledger.app
    cache = DirectoryCache(DirectoryQueries(ledger.engine), recorder_changes(app.recorder, page=2))
    try:
        for n, name in enumerate(["John Smith", "Erika Muster", "Hugo Martin"], start=1):
            _open(app, n, name)
        ledger.projector.catch_up()
        cache.refresh()  # follows from the projection's position on
        wanted = [iban(1), iban(2), iban(3), iban(4)]
        first = cache.entries(wanted)
        assert set(first) == {iban(1), iban(2), iban(3)}  # 4: unknown
        assert cache.stats.misses == 4
        assert cache.entries(wanted) == first
        assert (cache.stats.hits, cache.stats.misses) == (4, 4)  # all from memory

        app.change_holder_details(
            iban(1), "John A. Smith", holder_details("NATURAL", ["Jane Smith"]), "t"
        )
        app.close_account(iban(2), "t")
        _open(app, 4, "Nina Nowak")
        assert cache.refresh() == 0  # the projection has not applied them: nothing to drop
        assert cache.entries(wanted) == first  # stale for the projector's lag

        ledger.projector.catch_up()
        assert cache.refresh() == 3  # 1 changed, 2 closed, and the unknown 4 opened
        now = cache.entries(wanted)
        assert now[iban(1)].legal_name == "John A. Smith"
        assert now[iban(1)].further_names == ("Jane Smith",)
        assert now[iban(2)].status == "CLOSED"
        assert now[iban(4)].legal_name == "Nina Nowak"
        assert now[iban(3)] == first[iban(3)]
        assert cache.stats.misses == 4 + 3  # 3 was never dropped
    finally:
        cache.close()
        app.close()
        ledger.close()


def test_the_follower_thread_invalidates_by_itself(database: DatabaseConfig) -> None:
    ledger = make_ledger(database)
    app = ledger.app
    cache = DirectoryCache(DirectoryQueries(ledger.engine), recorder_changes(app.recorder))
    try:
        _open(app, 1, "John Smith")
        ledger.projector.catch_up()
        cache.start(poll_interval=0.02)
        _wait(lambda: cache.stats.refreshes > 0 or cache._position is not None)
        assert cache.entry(iban(1)).legal_name == "John Smith"  # type: ignore[union-attr]
        app.close_account(iban(1), "t")
        ledger.projector.catch_up()
        _wait(lambda: cache.entry(iban(1)).status == "CLOSED")  # type: ignore[union-attr]
    finally:
        cache.close()
        app.close()
        ledger.close()


def _wait(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.01)


def test_a_preloaded_cache_answers_from_memory_and_is_still_invalidated(
    database: DatabaseConfig,
) -> None:
    ledger = make_ledger(database)
    app = ledger.app
    queries = DirectoryQueries(ledger.engine)
    cache = DirectoryCache(queries, recorder_changes(app.recorder), size=2)
    try:
        for n, name in enumerate(["John Smith", "Erika Muster", "Hugo Martin"], start=1):
            _open(app, n, name)
        ledger.projector.catch_up()
        assert cache.preload() == 0  # not following yet: nothing is kept
        cache.refresh()
        assert cache.preload() == 2  # at most its size
        assert len(cache) == 2
        held = [i for i in (iban(1), iban(2), iban(3)) if i in cache._entries]
        cache.entries(held)
        assert cache.stats.misses == 0
        app.close_account(held[0], "t")
        ledger.projector.catch_up()
        assert cache.refresh() == 1
        assert cache.entry(held[0]).status == "CLOSED"  # type: ignore[union-attr]
    finally:
        cache.close()
        app.close()
        ledger.close()
