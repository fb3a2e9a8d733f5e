"""Replay: every read model as it was recorded at T, in a new SQLite file.

The same projections run over every event whose recorded-at is at or before
T, so the file holds exactly the read models "as recorded at T"; compliance
can query it offline with any SQLite client (or with :class:`LedgerQueries`).
The file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)

from projections.audit.trail import rm_audit_events
from projections.events import Envelope, as_utc
from projections.runner.projector import Projector
from projections.runner.sources import EventSource
from projections.tables import UtcDateTime

_info_metadata = MetaData()

replay_info = Table(
    "replay_info",
    _info_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("events", Integer, nullable=False),  # events recorded at or before as_of
    Column("sources", Text, nullable=False),  # JSON {context: last position scanned}
    Column("format", String(16), nullable=False),
)


def replay_to_sqlite(
    sources: Sequence[EventSource],
    as_of: datetime,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    overwrite: bool = False,
    batch_size: int = 1000,
) -> int:
    """Write the read models as recorded at ``as_of`` into the new SQLite file ``out``.

    Refuses to replace an existing file unless ``overwrite``. Returns the
    number of events recorded at or before ``as_of``.
    """
    as_of = as_utc(as_of)
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists (pass overwrite=True to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    _remove(partial)
    engine = create_engine(f"sqlite:///{partial}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, _record: Any) -> None:
        # The file is renamed into place only when complete: durability while writing is moot.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()

    def recorded_by_then(envelope: Envelope) -> bool:
        return envelope.recorded_at <= as_of

    try:
        projector = Projector(engine, sources, batch_size=batch_size, event_filter=recorded_by_then)
        projector.create_tables()
        heads = {s.name: s.head() for s in sources}
        projector.catch_up(until=heads, progress=progress)
        _info_metadata.create_all(engine)
        with engine.begin() as conn:
            events = int(
                conn.execute(select(func.count()).select_from(rm_audit_events)).scalar_one()
            )
            conn.execute(
                insert(replay_info).values(
                    id=1,
                    as_of=as_of,
                    created_at=datetime.now(UTC),
                    events=events,
                    sources=json.dumps(heads, sort_keys=True),
                    format="1",
                )
            )
    except BaseException:
        engine.dispose()
        _remove(partial)
        raise
    engine.dispose()
    if overwrite:
        _remove(out)
    partial.replace(out)
    return events


def _remove(path: Path) -> None:
    for candidate in (
        path,
        path.with_name(path.name + "-journal"),
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
    ):
        candidate.unlink(missing_ok=True)
