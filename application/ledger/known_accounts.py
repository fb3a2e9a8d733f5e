"""Which account keys have an account here: what partitioned ingestion routes by.

An account is never deleted, so a key once found stays found: found keys are remembered
(up to :data:`KNOWN_ACCOUNTS_MAX`, then forgotten all at once), and the others are looked up
in one query of the store (:class:`~application.ports.StoredVersions`) or, on a store that
cannot answer it, one read each. A key not found is asked again next time (it may be opened
meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application.ports import StoredVersions
from domain.ledger.ids import account_id

KNOWN_ACCOUNTS_MAX = 1_000_000
"""Account keys remembered before starting over (about 100 MB at most)."""


class KnownAccounts:
    """The account keys of ``app``'s store, found so far."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self._found: set[str] = set()

    def existing(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have an account (open, frozen or closed)."""
        wanted = set(keys)
        unknown = wanted - self._found
        if not unknown:
            return wanted
        ids = {account_id(key): key for key in unknown}
        recorder = self.app.recorder
        if isinstance(recorder, StoredVersions):
            found = {ids[i] for i in recorder.current_versions(ids.keys())}
        else:
            found = {key for aggregate_id, key in ids.items() if self._exists(aggregate_id)}
        if len(self._found) > KNOWN_ACCOUNTS_MAX:
            self._found.clear()
        self._found |= found
        return (wanted - unknown) | found

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True
