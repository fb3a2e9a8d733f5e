"""The fraud model's scored payments, for monitoring and the champion/challenger comparison.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``rm_fraud_scores`` (``projections/fraud/monitor.py``, docs/fraud.md "Monitoring and safe
rollout"): one row per ``Screened`` event a model or a shadow challenger scored, by time;
the projector fills it from the ledger's log (a new projection: it starts from the
beginning of the log).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TABLES = ("rm_fraud_scores",)
"""The tables this revision creates."""


def upgrade() -> None:
    op.create_table(
        "rm_fraud_scores",
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("screened_at", UTC_DATETIME, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("score", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("features", JSON_DOC, nullable=True),
        sa.Column("challenger_version", sa.String(length=128), nullable=True),
        sa.Column("challenger_score", sa.String(length=64), nullable=True),
        sa.Column("challenger_outcome", sa.String(length=16), nullable=True),
        sa.Column("challenger_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_index(
        "ix_rm_fraud_scores_time",
        "rm_fraud_scores",
        ["screened_at", "transaction_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("rm_fraud_scores")
