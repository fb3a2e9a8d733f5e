"""Baseline: the read-model tables as ``metadata.create_all`` made them before Alembic.

Revision ID: 0001
Revises:
Create Date: 2026-12-07

Generated once with autogenerate (SQLite and PostgreSQL gave the same operations) and
reviewed; our column types are written out as the SQL they are, so that this revision never
changes when ``projections/tables.py`` does:

* ``Amount``: ``NUMERIC(38, 8)`` on PostgreSQL, ``VARCHAR(48)`` (exact decimal text) on SQLite;
* ``SortableAmount``: ``NUMERIC(38, 8)`` on PostgreSQL, ``VARCHAR(39)`` (zero-padded) on SQLite;
* ``UtcDateTime``: ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, ``DATETIME`` on SQLite;
* ``JsonDoc``: ``JSONB`` on PostgreSQL, ``JSON`` on SQLite.

Constraint names are left to the server, as ``create_all`` left them, so a database made
before Alembic (stamped with this revision, not created again: ``adapters.migrations``) and
one made by this revision are alike. The append-only triggers on ``audit_chain`` are
installed by ``ledger migrate`` afterwards (``adapters.audit.append_only``), as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AMOUNT = sa.Numeric(38, 8).with_variant(sa.String(48), "sqlite")
SORTABLE_AMOUNT = sa.Numeric(38, 8).with_variant(sa.String(39), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TABLES = (
    "audit_chain",
    "notification_positions",
    "outbox_tracking",
    "rm_account_history",
    "rm_accounts",
    "rm_audit_events",
    "rm_change_requests",
    "rm_fraud_cases",
    "rm_fraud_escalations",
    "rm_holds",
    "rm_notification_attempts",
    "rm_notification_deliveries",
    "rm_postings",
    "rm_projection_tracking",
    "rm_quarantine",
    "rm_reconciliation_breaks",
    "rm_reconciliations",
    "rm_screenings",
    "rm_transaction_status",
    "rm_transactions",
    "rm_users",
)
"""Every table this revision creates (``adapters.migrations`` recognises a database made
before Alembic by them)."""


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("originator_id", sa.String(length=255), nullable=False),
        sa.Column("originator_version", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("context", "position"),
    )
    op.create_table(
        "notification_positions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "context"),
    )
    op.create_table(
        "outbox_tracking",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "rm_account_history",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("holder_name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("balance", AMOUNT, nullable=False),
        sa.Column("held", AMOUNT, nullable=False),
        sa.Column("overdraft_limit", AMOUNT, nullable=True),
        sa.Column("debits_total", AMOUNT, nullable=False),
        sa.Column("credits_total", AMOUNT, nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "version"),
    )
    op.create_index(
        "ix_rm_account_history_asof",
        "rm_account_history",
        ["account_id", "recorded_at", "version"],
        unique=False,
    )
    op.create_table(
        "rm_accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("holder_name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("balance", AMOUNT, nullable=False),
        sa.Column("held", AMOUNT, nullable=False),
        sa.Column("overdraft_limit", AMOUNT, nullable=True),
        sa.Column("debits_total", AMOUNT, nullable=False),
        sa.Column("credits_total", AMOUNT, nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_rm_accounts_currency_key", "rm_accounts", ["currency", "key"], unique=False)
    op.create_index("ix_rm_accounts_status_key", "rm_accounts", ["status", "key"], unique=False)
    op.create_table(
        "rm_audit_events",
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stream_id", sa.String(length=255), nullable=False),
        sa.Column("stream_type", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("correlation_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("context", "position"),
    )
    op.create_index(
        "ix_rm_audit_events_correlation", "rm_audit_events", ["correlation_id"], unique=False
    )
    op.create_index(
        "ix_rm_audit_events_stream",
        "rm_audit_events",
        ["stream_id", "recorded_at", "context", "position"],
        unique=False,
    )
    op.create_index(
        "ix_rm_audit_events_time",
        "rm_audit_events",
        ["recorded_at", "context", "position"],
        unique=False,
    )
    op.create_table(
        "rm_change_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("params", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rm_change_requests_requested",
        "rm_change_requests",
        ["requested_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_change_requests_status",
        "rm_change_requests",
        ["status", "requested_at", "id"],
        unique=False,
    )
    op.create_table(
        "rm_fraud_cases",
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=True),
        sa.Column("assignee", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("transaction_status", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("debtor_iban", sa.String(length=34), nullable=True),
        sa.Column("creditor_iban", sa.String(length=34), nullable=True),
        sa.Column("held_amount", sa.String(length=64), nullable=True),
        sa.Column("score", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("rule_hits", JSON_DOC, nullable=True),
        sa.Column("top_features", JSON_DOC, nullable=True),
        sa.Column("opened_at", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_index(
        "ix_rm_fraud_cases_opened", "rm_fraud_cases", ["opened_at", "transaction_id"], unique=False
    )
    op.create_index(
        "ix_rm_fraud_cases_status",
        "rm_fraud_cases",
        ["status", "opened_at", "transaction_id"],
        unique=False,
    )
    op.create_table(
        "rm_fraud_escalations",
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("waiting_since", UTC_DATETIME, nullable=False),
        sa.Column("deadline_minutes", sa.String(length=16), nullable=False),
        sa.Column("escalated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_table(
        "rm_holds",
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("placed_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", "account_id"),
    )
    op.create_index("ix_rm_holds_account", "rm_holds", ["account_id"], unique=False)
    op.create_table(
        "rm_notification_attempts",
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", "attempt"),
    )
    op.create_table(
        "rm_notification_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_context", sa.String(length=64), nullable=False),
        sa.Column("source_position", sa.BigInteger(), nullable=False),
        sa.Column("source_event_id", sa.String(length=255), nullable=False),
        sa.Column("source_event_type", sa.String(length=128), nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_outcome", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("gave_up_reason", sa.Text(), nullable=True),
        sa.Column("scheduled_at", UTC_DATETIME, nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("last_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rm_notification_deliveries_due",
        "rm_notification_deliveries",
        ["status", "next_attempt_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_notification_deliveries_rule",
        "rm_notification_deliveries",
        ["rule", "scheduled_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_notification_deliveries_scheduled",
        "rm_notification_deliveries",
        ["scheduled_at", "id"],
        unique=False,
    )
    op.create_table(
        "rm_postings",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("balance_after", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booking_date", sa.String(length=10), nullable=True),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "version"),
    )
    op.create_index(
        "ix_rm_postings_asof", "rm_postings", ["account_id", "recorded_at", "version"], unique=False
    )
    op.create_index("ix_rm_postings_transaction", "rm_postings", ["transaction_id"], unique=False)
    op.create_table(
        "rm_projection_tracking",
        sa.Column("projection", sa.String(length=64), nullable=False),
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("projection", "context"),
    )
    op.create_table(
        "rm_quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("follower", sa.String(length=128), nullable=False),
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("originator_id", sa.String(length=255), nullable=False),
        sa.Column("originator_version", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("error_type", sa.String(length=255), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen", UTC_DATETIME, nullable=False),
        sa.Column("last_seen", UTC_DATETIME, nullable=False),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("follower", "context", "position", name="uq_rm_quarantine_event"),
    )
    op.create_index(
        "ix_rm_quarantine_status",
        "rm_quarantine",
        ["status", "follower", "context", "position"],
        unique=False,
    )
    op.create_table(
        "rm_reconciliation_breaks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("reconciliation_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("statement_amount", AMOUNT, nullable=True),
        sa.Column("ledger_amount", AMOUNT, nullable=True),
        sa.Column("transaction_id", sa.String(length=36), nullable=True),
        sa.Column("entry_index", sa.Integer(), nullable=True),
        sa.Column("booking_date", sa.String(length=10), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("detected_at", UTC_DATETIME, nullable=False),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rm_reconciliation_breaks_detected",
        "rm_reconciliation_breaks",
        ["detected_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_reconciliation_breaks_kind",
        "rm_reconciliation_breaks",
        ["kind", "detected_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_reconciliation_breaks_of",
        "rm_reconciliation_breaks",
        ["reconciliation_id", "number"],
        unique=False,
    )
    op.create_index(
        "ix_rm_reconciliation_breaks_status",
        "rm_reconciliation_breaks",
        ["status", "detected_at", "id"],
        unique=False,
    )
    op.create_table(
        "rm_reconciliations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("statement_id", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("version_read", sa.String(length=32), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("from_date", sa.String(length=10), nullable=False),
        sa.Column("to_date", sa.String(length=10), nullable=False),
        sa.Column("statement_created_at", UTC_DATETIME, nullable=False),
        sa.Column("opening_balance", AMOUNT, nullable=True),
        sa.Column("closing_balance", AMOUNT, nullable=False),
        sa.Column("ledger_closing_balance", AMOUNT, nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("break_count", sa.Integer(), nullable=False),
        sa.Column("open_break_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entries", JSON_DOC, nullable=False),
        sa.Column("imported_at", UTC_DATETIME, nullable=False),
        sa.Column("imported_by", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rm_reconciliations_account",
        "rm_reconciliations",
        ["account", "imported_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_reconciliations_imported", "rm_reconciliations", ["imported_at", "id"], unique=False
    )
    op.create_table(
        "rm_screenings",
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("score", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("rule_hits", JSON_DOC, nullable=False),
        sa.Column("features", JSON_DOC, nullable=True),
        sa.Column("top_features", JSON_DOC, nullable=True),
        sa.Column("screened_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_table(
        "rm_transaction_status",
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("transaction_id", "seq"),
    )
    op.create_table(
        "rm_transactions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", SORTABLE_AMOUNT, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debtor_iban", sa.String(length=34), nullable=False),
        sa.Column("debtor_name", sa.Text(), nullable=False),
        sa.Column("creditor_iban", sa.String(length=34), nullable=False),
        sa.Column("creditor_name", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=True),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rejection_reason", sa.String(length=64), nullable=True),
        sa.Column("rejection_detail", sa.Text(), nullable=True),
        sa.Column("screening_outcome", sa.String(length=16), nullable=True),
        sa.Column("rule_hits", JSON_DOC, nullable=True),
        sa.Column("screening_score", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("booking_date", sa.String(length=10), nullable=True),
        sa.Column("debit_account", sa.String(length=64), nullable=True),
        sa.Column("credit_account", sa.String(length=64), nullable=True),
        sa.Column("hold_account_id", sa.String(length=36), nullable=True),
        sa.Column("settlement_reference", sa.Text(), nullable=True),
        sa.Column("reverses", sa.String(length=36), nullable=True),
        sa.Column("reversed_by", sa.String(length=36), nullable=True),
        sa.Column("metadata", JSON_DOC, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rm_transactions_amount", "rm_transactions", ["amount"], unique=False)
    op.create_index(
        "ix_rm_transactions_channel",
        "rm_transactions",
        ["channel", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_transactions_credit_account",
        "rm_transactions",
        ["credit_account", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_transactions_creditor",
        "rm_transactions",
        ["creditor_iban", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_transactions_debit_account",
        "rm_transactions",
        ["debit_account", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_transactions_debtor",
        "rm_transactions",
        ["debtor_iban", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_rm_transactions_received", "rm_transactions", ["received_at", "id"], unique=False
    )
    op.create_index(
        "ix_rm_transactions_status",
        "rm_transactions",
        ["status", "received_at", "id"],
        unique=False,
    )
    op.create_table(
        "rm_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("roles", JSON_DOC, nullable=False),
        sa.Column("registered_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_rm_users_status_name", "rm_users", ["status", "name"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
