"""An in-process cache in front of the account directory, invalidated from the log.

The responder looks every checked IBAN up in the directory (:mod:`projections.vop.directory`);
at thousands of checks per second per pod that is one read-model query per request.
:class:`DirectoryCache` keeps the entries it read (least recently used out first, at most
``size`` accounts, and as many IBANs found unknown) and answers the
:class:`~application.vop.ports.AccountDirectory` port from memory.

**Invalidation follows the projection, not the clock.** :meth:`DirectoryCache.refresh` (a
thread calls it every ``poll_interval`` seconds) reads how far the ``vop_directory``
projection has got in the ledger's log (its tracking row), reads the ledger's ``Account``
events ``Opened``, ``HolderDetailsChanged`` and ``Closed`` between the position it saw last
and that one (only those topics, not decoded), and drops the accounts they name; an
``Opened`` also drops the IBANs cached as unknown (an opening's IBAN is in its event data,
which is not decoded). Only what the projection has applied is invalidated, so an entry read
again afterwards is at least that fresh. A lookup that read the database while a refresh ran
is not cached (the refresh's epoch changed), so a read from before a change cannot be stored
after the change was invalidated. A projection rebuilt (its position went back) empties the
cache, which then loads the directory again when ``preload`` is on. (A rebuild that both
reset and caught up past the cache's position between two polls goes unnoticed: the
entries cached stay until the log changes them or they are evicted. A rebuild of the
directory replays the whole log, far longer than a poll; after one that fixed wrong rows,
restart the ``vop`` pods, docs/vop.md.)

**Bounded staleness**: a change is visible to the responder at most the projector's lag
plus ``poll_interval`` (plus a refresh's own time) after it was recorded. A cache whose last
successful refresh is older than ``stale_after`` (by default :data:`STALE_POLLS` polls: the
follower is stuck or the database unreachable) is not :attr:`~DirectoryCache.fresh`: it
answers from the read model, as if it were off, until a refresh succeeds again. A failed
refresh keeps the entries and the position: the next successful one invalidates what the
projection changed since that position, so a transient database error neither serves stale
entries past the bound nor empties every pod's cache (a stampede on the read model after
the database came back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from sqlalchemy import select

from application.vop.ports import DirectoryEntry
from domain.ledger.accounts import Account
from projections.tables import rm_projection_tracking
from projections.vop.directory import VopDirectoryProjection
from projections.vop.queries import DirectoryQueries

logger = logging.getLogger(__name__)

ACCOUNT_KINDS = ("Opened", "HolderDetailsChanged", "Closed")
ACCOUNT_TOPICS = tuple(get_topic(getattr(Account, kind)) for kind in ACCOUNT_KINDS)
"""The topics of the ledger events that change the directory."""
_KIND_OF_TOPIC = dict(zip(ACCOUNT_TOPICS, ACCOUNT_KINDS, strict=True))

AccountChanges = Callable[[int, int], Iterable[tuple[str, str]]]
"""``(after, until)`` → ``(topic, account id)`` of the ledger's account events with
notification ids in ``(after, until]`` (only :data:`ACCOUNT_TOPICS`)."""


def kind_of(topic: str) -> str | None:
    return _KIND_OF_TOPIC.get(topic)


STALE_POLLS = 5
"""A started cache is stale when it has not refreshed for this many polls."""


@dataclass
class CacheStats:
    """Counters since the cache was built (``ledger_vop_directory_cache_*_total``)."""

    hits: int = 0
    """IBANs answered from memory (an entry, or known to be unknown)."""
    misses: int = 0
    """IBANs read from the read model (not cached, or the cache stale)."""
    invalidated: int = 0
    refreshes: int = 0
    """Successful refreshes."""
    failed_refreshes: int = 0


class NotificationReader(Protocol):
    """What :func:`recorder_changes` reads: an eventsourcing application recorder."""

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Notification]: ...


def recorder_changes(recorder: NotificationReader, page: int = 1_000) -> AccountChanges:
    """:data:`AccountChanges` over the ledger's notification log (``recorder``), reading
    only the account events' topics, in pages of ``page``, never decoding an event."""

    def changes(after: int, until: int) -> Iterator[tuple[str, str]]:
        while after < until:
            found = recorder.select_notifications(
                start=after + 1, limit=page, stop=until, topics=ACCOUNT_TOPICS
            )
            for notification in found:
                yield notification.topic, str(notification.originator_id)
            if len(found) < page:
                return
            after = found[-1].id

    return changes


class DirectoryCache:
    """The account directory through a bounded LRU cache; satisfies ``AccountDirectory``."""

    def __init__(
        self,
        queries: DirectoryQueries,
        changes: AccountChanges,
        *,
        size: int = 200_000,
        context: str = "ledger",
        preload: bool = False,
        stale_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.queries = queries
        self.changes = changes
        self.size = size
        self.context = context
        self.preload_on_follow = preload
        """Load the directory (:meth:`preload`) on the first follow and after a rebuild."""
        self.stale_after = stale_after
        """Seconds without a successful refresh after which the cache bypasses itself (None:
        never by time; :meth:`start` sets :data:`STALE_POLLS` polls)."""
        self._clock = clock
        self._refreshed_at: float | None = None  # clock() of the last successful refresh
        self._preload_pending = preload
        self.stats = CacheStats()
        self._entries: OrderedDict[str, tuple[str, DirectoryEntry]] = OrderedDict()
        self._ibans: dict[str, str] = {}  # account id -> IBAN, of the cached entries
        self._unknown: OrderedDict[str, None] = OrderedDict()
        self._position: int | None = None  # None: not following (yet): nothing is cached
        self._epoch = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the port --------------------------------------------------------------------

    @property
    def fresh(self) -> bool:
        """Following the log, and refreshed successfully within ``stale_after``: only then
        does the cache answer from memory (readiness of the roles serving VoP)."""
        with self._lock:
            return self._fresh()

    def _fresh(self) -> bool:  # with the lock held
        if self._position is None or self._refreshed_at is None:
            return False
        return self.stale_after is None or self._clock() - self._refreshed_at <= self.stale_after

    def entries(self, ibans: Collection[str]) -> dict[str, DirectoryEntry]:
        found: dict[str, DirectoryEntry] = {}
        missing: list[str] = []
        wanted = set(ibans)
        with self._lock:
            # Stale or not following: every IBAN from the read model, and nothing cached.
            caching, epoch = self._fresh(), self._epoch
            for iban in wanted:
                cached = self._entries.get(iban) if caching else None
                if cached is not None:
                    self._entries.move_to_end(iban)
                    found[iban] = cached[1]
                elif caching and iban in self._unknown:
                    self._unknown.move_to_end(iban)
                else:
                    missing.append(iban)
            self.stats.hits += len(wanted) - len(missing)
            self.stats.misses += len(missing)
        if not missing:
            return found
        read = self.queries.entries_with_ids(missing)
        with self._lock:
            if caching and self._epoch == epoch:
                self._store(missing, read)
        found.update((iban, entry) for iban, (_, entry) in read.items())
        return found

    def known(self, ibans: Collection[str]) -> dict[str, DirectoryEntry] | None:
        """The entries of ``ibans`` when the cache knows every one of them (cached, or cached
        as unknown), without touching the database; ``None`` otherwise."""
        found: dict[str, DirectoryEntry] = {}
        with self._lock:
            if not self._fresh():
                return None
            for iban in set(ibans):
                cached = self._entries.get(iban)
                if cached is not None:
                    found[iban] = cached[1]
                elif iban not in self._unknown:
                    return None
            for iban in found:
                self._entries.move_to_end(iban)
            self.stats.hits += len(set(ibans))
        return found

    def entry(self, iban: str) -> DirectoryEntry | None:
        return self.entries([iban]).get(iban)

    def _store(self, asked: list[str], read: dict[str, tuple[str, DirectoryEntry]]) -> None:
        for iban in asked:
            got = read.get(iban)
            if got is None:
                self._unknown[iban] = None
                if len(self._unknown) > self.size:
                    self._unknown.popitem(last=False)
                continue
            self._entries[iban] = got
            self._ibans[got[0]] = iban
            if len(self._entries) > self.size:
                _, (old_id, _) = self._entries.popitem(last=False)
                self._ibans.pop(old_id, None)

    def preload(self) -> int:
        """Fill the cache with up to ``size`` entries of the directory (a pod starting warm:
        with the whole directory in memory only accounts opened since are read one by one);
        call after the first :meth:`refresh`. Returns the entries loaded."""
        with self._lock:
            epoch = self._epoch
            if self._position is None:
                return 0
        loaded: list[tuple[str, DirectoryEntry]] = list(self.queries.all_with_ids(self.size))
        with self._lock:
            if self._epoch != epoch:
                return 0  # a refresh ran meanwhile: what was read may be older than it
            for account_id, entry in loaded:
                if entry.iban not in self._entries:
                    self._entries[entry.iban] = (account_id, entry)
                    self._ibans[account_id] = entry.iban
            while len(self._entries) > self.size:
                _, (old_id, _) = self._entries.popitem(last=False)
                self._ibans.pop(old_id, None)
        return len(loaded)

    def __len__(self) -> int:
        return len(self._entries)

    # -- invalidation ----------------------------------------------------------------

    def projected_position(self) -> int:
        """How far the directory's projection has got in the ledger's log."""
        _T = rm_projection_tracking
        with self.queries.engine.connect() as conn:
            position = conn.execute(
                select(_T.c.position).where(
                    _T.c.projection == VopDirectoryProjection.name, _T.c.context == self.context
                )
            ).scalar()
        return int(position or 0)

    def refresh(self) -> int:
        """Drop what the projection changed since the last successful refresh (loading the
        directory first when following anew with ``preload``); returns how many cached
        entries were dropped. Raises what reading the database raised, keeping the entries
        and the position (the next refresh continues from there)."""
        position = self.projected_position()
        with self._lock:
            previous = self._position
        dropped = 0
        if previous is None or position < previous:  # first follow, or a rebuild
            if previous is not None:
                logger.warning(
                    "vop directory cache: the projection went back from %d to %d (rebuilt); "
                    "cache emptied",
                    previous,
                    position,
                )
            self._reset(position)
            self._preload_pending = self.preload_on_follow
        elif position > previous:
            dropped = self._invalidate(previous, position)
        if self._preload_pending:
            self.preload()
            self._preload_pending = False
        with self._lock:
            self._refreshed_at = self._clock()
            self.stats.refreshes += 1
        return dropped

    def _invalidate(self, previous: int, position: int) -> int:
        changed: set[str] = set()
        opened = False
        for topic, account_id in self.changes(previous, position):
            if kind_of(topic) == "Opened":
                opened = True
            else:
                changed.add(account_id)
        dropped = 0
        with self._lock:
            for account_id in changed:
                iban = self._ibans.pop(account_id, None)
                if iban is not None and self._entries.pop(iban, None) is not None:
                    dropped += 1
            if opened:
                dropped += len(self._unknown)
                self._unknown.clear()
            self._epoch += 1
            self._position = position
            self.stats.invalidated += dropped
        return dropped

    def forget(self) -> None:
        """Empty the cache and cache nothing until a refresh succeeds (which loads the
        directory again with ``preload``)."""
        self._reset(None)
        with self._lock:
            self._refreshed_at = None

    def _reset(self, position: int | None) -> None:
        with self._lock:
            self._entries.clear()
            self._ibans.clear()
            self._unknown.clear()
            self._epoch += 1
            self._position = position

    # -- the follower thread -----------------------------------------------------------

    def start(self, poll_interval: float) -> None:
        """Refresh every ``poll_interval`` seconds in a daemon thread until :meth:`close`;
        stale (bypassed) after :data:`STALE_POLLS` polls without a successful refresh,
        unless ``stale_after`` was given."""
        if self._thread is not None:
            return
        if self.stale_after is None:
            self.stale_after = STALE_POLLS * poll_interval
        self._thread = threading.Thread(
            target=self._follow, args=(poll_interval,), name="vop-directory-cache", daemon=True
        )
        self._thread.start()

    def _follow(self, poll_interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:
                with self._lock:
                    self.stats.failed_refreshes += 1
                logger.warning(
                    "vop directory cache: refresh failed; entries kept, answered from the read "
                    "model once stale, followed on from the last position when it recovers",
                    exc_info=True,
                )
            self._stop.wait(poll_interval)

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5.0)
