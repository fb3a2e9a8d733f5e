"""Read-model tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

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
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
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
KEY = String(64)  # IBAN (compact) or internal code

# --------------------------------------------------------------------------- accounts

rm_accounts = Table(
    "rm_accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("key", KEY, nullable=False, unique=True),
    Column("iban", String(34)),
    Column("holder_name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("balance", Amount, nullable=False),
    Column("held", Amount, nullable=False),
    Column("overdraft_limit", Amount),
    Column("debits_total", Amount, nullable=False),  # cumulative, positive
    Column("credits_total", Amount, nullable=False),  # cumulative, positive
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_accounts_status_key", "status", "key"),
    Index("ix_rm_accounts_currency_key", "currency", "key"),
)

rm_account_history = Table(
    "rm_account_history",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("key", KEY, nullable=False),
    Column("iban", String(34)),
    Column("holder_name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("balance", Amount, nullable=False),
    Column("held", Amount, nullable=False),
    Column("overdraft_limit", Amount),
    Column("debits_total", Amount, nullable=False),
    Column("credits_total", Amount, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Index("ix_rm_account_history_asof", "account_id", "recorded_at", "version"),
)

rm_postings = Table(
    "rm_postings",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("account_key", KEY, nullable=False),
    Column("transaction_id", ID, nullable=False),
    Column("amount", Amount, nullable=False),  # signed: negative = debit
    Column("balance_after", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("booking_date", String(10)),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_rm_postings_asof", "account_id", "recorded_at", "version"),
    Index("ix_rm_postings_transaction", "transaction_id"),
)

rm_holds = Table(
    "rm_holds",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("account_id", ID, primary_key=True),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),  # account version of the HoldPlaced event
    Index("ix_rm_holds_account", "account_id"),
)

# ----------------------------------------------------------------------- transactions

rm_transactions = Table(
    "rm_transactions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("external_id", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("amount", SortableAmount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("debtor_iban", String(34), nullable=False),
    Column("debtor_name", Text, nullable=False),
    Column("creditor_iban", String(34), nullable=False),
    Column("creditor_name", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("requested_at", UtcDateTime),
    Column("received_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("rejection_reason", String(64)),
    Column("rejection_detail", Text),
    Column("screening_outcome", String(16)),
    Column("rule_hits", JsonDoc),
    Column("screening_score", String(64)),
    Column("model_version", String(128)),
    Column("booking_date", String(10)),
    Column("debit_account", KEY),  # key of the account debited when posted
    Column("credit_account", KEY),  # key of the account credited when posted
    Column("hold_account_id", ID),
    Column("settlement_reference", Text),
    Column("reverses", ID),
    Column("reversed_by", ID),
    Column("metadata", JsonDoc),
    Index("ix_rm_transactions_received", "received_at", "id"),
    Index("ix_rm_transactions_status", "status", "received_at", "id"),
    Index("ix_rm_transactions_channel", "channel", "received_at", "id"),
    Index("ix_rm_transactions_debtor", "debtor_iban", "received_at", "id"),
    Index("ix_rm_transactions_creditor", "creditor_iban", "received_at", "id"),
    Index("ix_rm_transactions_debit_account", "debit_account", "received_at", "id"),
    Index("ix_rm_transactions_credit_account", "credit_account", "received_at", "id"),
    Index("ix_rm_transactions_amount", "amount"),
)

rm_transaction_status = Table(
    "rm_transaction_status",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the event's version
    Column("status", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text),
    Column("detail", Text),
)

# ------------------------------------------------------------------------------ audit

rm_audit_events = Table(
    "rm_audit_events",
    metadata,
    Column("context", String(64), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    # other contexts may use ids, names and principals of any length
    Column("stream_id", String(255), nullable=False),
    Column("stream_type", String(255), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("correlation_id", String(255), nullable=False),
    Column("channel", String(255), nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Index("ix_rm_audit_events_time", "recorded_at", "context", "position"),
    Index("ix_rm_audit_events_stream", "stream_id", "recorded_at", "context", "position"),
    Index("ix_rm_audit_events_correlation", "correlation_id"),
)

# --------------------------------------------------------------------------- tracking

rm_projection_tracking = Table(
    "rm_projection_tracking",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("context", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime),  # wall clock of the last commit (operational)
)

READ_MODEL_TABLES: tuple[Table, ...] = tuple(
    t
    for t in metadata.sorted_tables
    # operational, not derived from events alone (projections/quarantine.py has rm_quarantine)
    if t.name not in {"rm_projection_tracking", "rm_quarantine"}
)
