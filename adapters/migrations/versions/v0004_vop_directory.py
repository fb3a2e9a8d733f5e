"""The Verification of Payee account directory.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

``rm_vop_directory`` (``projections/vop/directory.py``, docs/vop.md): one row per customer
account with its holder type, legal name, further names, identifiers and OPEN/CLOSED status,
looked up by IBAN. Built by the ``vop_directory`` projection from the ledger's log: after the
upgrade the projector fills it from position zero (a new projection starts there).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TABLES = ("rm_vop_directory",)
"""The tables this revision creates."""


def upgrade() -> None:
    op.create_table(
        "rm_vop_directory",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("holder_type", sa.String(length=16), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("further_names", JSON_DOC, nullable=False),
        sa.Column("identifiers", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("iban"),
    )


def downgrade() -> None:
    op.drop_table("rm_vop_directory")
