"""What every read-model table shares: the one ``metadata``, the column types, the tracking table.

Each context defines its own tables on :data:`metadata` (``projections/<context>/``); the
projector's registry (:mod:`projections.runner.registry`) imports every context, so that
``metadata`` holds every read-model table once it is imported. The tables are the same on
SQLite and PostgreSQL.

Every row is derived from event data only (no autoincrement ids, no wall-clock
values), so a rebuild from zero writes exactly the rows incremental processing
wrote. The one exception is ``rm_projection_tracking.updated_at``: when the
projector last committed, which is operational metadata, not read-model data.

Column types hide the two backends' differences:

* :class:`Amount` is ``NUMERIC(38, 8)`` on PostgreSQL and exact decimal text on
  SQLite (whose NUMERIC is a binary float). Sums are done in Python, never by
  SQL ``SUM``, so no backend ever rounds.
* :class:`SortableAmount` (non-negative amounts that are filtered by range) is
  ``NUMERIC(38, 8)`` on PostgreSQL and zero-padded fixed-point text on SQLite,
  whose string order is the numeric order, so range filters use an index.
* :class:`UtcDateTime` is ``timestamptz`` on PostgreSQL; SQLite stores the UTC
  wall time and the type re-attaches ``UTC`` when reading. Naive datetimes
  given as parameters are taken to be UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    MetaData,
    Numeric,
    String,
    Table,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

metadata = MetaData()


class Amount(TypeDecorator[Decimal]):
    """An exact signed decimal (scale up to 8)."""

    impl = Numeric(38, 8)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(38, 8, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value)
        if dialect.name == "sqlite":
            return format(amount, "f")
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value)


class SortableAmount(TypeDecorator[Decimal]):
    """An exact non-negative decimal whose stored form sorts numerically on both backends."""

    impl = Numeric(38, 8)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(39))
        return dialect.type_descriptor(Numeric(38, 8, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value)
        if amount < 0:
            raise ValueError(f"SortableAmount must not be negative, got {amount}")
        if dialect.name == "sqlite":
            return format(amount, "039.8f")
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both backends."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JsonDoc = JSON().with_variant(JSONB(), "postgresql")

ID = String(36)  # UUID text

# --------------------------------------------------------------------------- tracking

rm_projection_tracking = Table(
    "rm_projection_tracking",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("context", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime),  # wall clock of the last commit (operational)
)
