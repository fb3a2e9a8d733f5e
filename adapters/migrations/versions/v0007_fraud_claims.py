"""Customer fraud claims, scam reports and chargebacks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``rm_fraud_claims`` (``projections/fraud/claims.py``, docs/fraud.md "Labels and feedback"): one
row per ``FraudClaim`` of the fraud context, for GraphQL ``fraudClaims`` and the training's
labels; the projector (projection ``fraud_claims``) fills it from the fraud context's log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)

TABLES = ("rm_fraud_claims",)
"""The tables this revision creates."""


def upgrade() -> None:
    op.create_table(
        "rm_fraud_claims",
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("reported_by", sa.Text(), nullable=False),
        sa.Column("reported_at", UTC_DATETIME, nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("typology", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=True),
        sa.Column("amount", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("debtor_iban", sa.String(length=34), nullable=True),
        sa.Column("creditor_iban", sa.String(length=34), nullable=True),
        sa.Column("filed_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    for name, columns in (
        ("ix_rm_fraud_claims_filed", ["filed_at", "claim_id"]),
        ("ix_rm_fraud_claims_status", ["status", "filed_at", "claim_id"]),
        ("ix_rm_fraud_claims_transaction", ["transaction_id", "filed_at", "claim_id"]),
    ):
        op.create_index(name, "rm_fraud_claims", columns, unique=False)


def downgrade() -> None:
    op.drop_table("rm_fraud_claims")
