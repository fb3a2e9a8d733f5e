"""Where the rule evaluator keeps how far it has read each context's log.

A small table of its own (like the outbox's tracking), not a read model: a projection
rebuild must not make the evaluator read every event again (the deliveries' ids would make
that harmless, but slow).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Engine, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

metadata = MetaData()
notification_positions = Table(
    "notification_positions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("context", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def create_position_tables(engine: Engine) -> None:
    metadata.create_all(engine, tables=[notification_positions])


class SqlPositionStore:
    """The :class:`~application.notifications.ports.PositionStore` over ``notification_positions``
    (``name`` is the rule's key; rows named ``rules`` are from before positions were kept per
    rule, and are no longer read)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str, context: str) -> int | None:
        t = notification_positions
        with self.engine.connect() as conn:
            found = conn.execute(
                select(t.c.position).where(t.c.name == key, t.c.context == context)
            ).scalar()
        return None if found is None else int(found)

    def set(self, key: str, context: str, position: int) -> None:
        """Store ``position`` unless the stored one is further (never backwards)."""
        t = notification_positions
        now = datetime.now(UTC)
        values = {"name": key, "context": context, "position": position, "updated_at": now}
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                pg = pg_insert(t).values(**values)
                conn.execute(
                    pg.on_conflict_do_update(
                        index_elements=[t.c.name, t.c.context],
                        set_={
                            "position": func.greatest(t.c.position, pg.excluded.position),
                            "updated_at": pg.excluded.updated_at,
                        },
                    )
                )
                return
            lite = sqlite_insert(t).values(**values)
            conn.execute(
                lite.on_conflict_do_update(
                    index_elements=[t.c.name, t.c.context],
                    set_={
                        "position": func.max(t.c.position, lite.excluded.position),
                        "updated_at": lite.excluded.updated_at,
                    },
                )
            )
