"""Where the rule evaluator keeps how far it has read each context's log.

A small table of its own (like the outbox's tracking), not a read model: a projection
rebuild must not make the evaluator read every event again (the deliveries' ids would make
that harmless, but slow).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Engine, MetaData, String, Table, select, update
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
    """The :class:`~application.notifications.PositionStore` over ``notification_positions``."""

    def __init__(self, engine: Engine, name: str = "rules") -> None:
        self.engine = engine
        self.name = name

    def get(self, context: str) -> int | None:
        t = notification_positions
        with self.engine.connect() as conn:
            found = conn.execute(
                select(t.c.position).where(t.c.name == self.name, t.c.context == context)
            ).scalar()
        return None if found is None else int(found)

    def set(self, context: str, position: int) -> None:
        t = notification_positions
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            dialect = conn.dialect.name
            make = pg_insert if dialect == "postgresql" else sqlite_insert
            conn.execute(
                make(t)
                .values(name=self.name, context=context, position=0, updated_at=now)
                .on_conflict_do_nothing()
            )
            conn.execute(
                update(t)
                .where(t.c.name == self.name, t.c.context == context)
                .values(position=position, updated_at=now)
            )
