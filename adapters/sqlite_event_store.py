"""eventsourcing's SQLite application recorder, answering the
:class:`~application.ports.StoredVersions` port.

Selected by ``APPLICATION_RECORDER_TOPIC`` = :data:`VERSIONED_SQLITE_RECORDER_TOPIC` (see
:func:`adapters.persistence.event_store_env`); the PostgreSQL counterpart is
:class:`adapters.pg_event_store.ListenFirstRecorder`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from uuid import UUID

from eventsourcing.sqlite import SQLiteApplicationRecorder

VERSIONED_SQLITE_RECORDER_TOPIC = "adapters.sqlite_event_store:VersionedSQLiteRecorder"


class VersionedSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite application recorder that tells many aggregates' current versions at once."""

    def current_versions(self, originator_ids: Collection[UUID]) -> dict[UUID, int]:
        """The highest stored version of each of ``originator_ids`` that has events, in one
        query (the ids go in as one JSON array, so no limit on bound parameters applies;
        the primary key (originator_id, originator_version) answers each id by an index seek)."""
        if not originator_ids:
            return {}
        statement = (
            "SELECT originator_id, MAX(originator_version) AS version "
            f"FROM {self.events_table_name} "
            "WHERE originator_id IN (SELECT value FROM json_each(?)) GROUP BY originator_id"
        )
        ids = json.dumps([self._stored_id(originator_id) for originator_id in originator_ids])
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [ids])
            return {
                UUID(str(self.convert_originator_id(row["originator_id"]))): int(row["version"])
                for row in cursor.fetchall()
            }

    def _stored_id(self, originator_id: UUID) -> str:
        """``originator_id`` as this store's column holds it (hex for the uuid type)."""
        return (
            originator_id.hex if self.datastore.originator_id_type == "uuid" else str(originator_id)
        )
