"""Pending credits of two-step postings, and the optional trail of fenced writes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

``transit_credits`` (``adapters/partitions/tables.py``, docs/scale-out.md): one row per
transaction whose credit waits for the writer of the creditor's partition; ``partition_writes``:
one row per partition a fenced transaction proved (only with ``LEDGER_PARTITION_WRITE_LOG``).
Plain tables on SQLite too (partitioned ingestion itself needs PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("transit_credits", "partition_writes")
"""The tables this revision creates."""


def upgrade() -> None:
    op.create_table(
        "transit_credits",
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_index("ix_transit_credits_partition", "transit_credits", ["partition"])
    op.create_table(
        "partition_writes",
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("member", sa.String(length=128), nullable=False),
    )
    op.create_index("ix_partition_writes_txid", "partition_writes", ["txid"])


def downgrade() -> None:
    op.drop_index("ix_partition_writes_txid", table_name="partition_writes")
    op.drop_table("partition_writes")
    op.drop_index("ix_transit_credits_partition", table_name="transit_credits")
    op.drop_table("transit_credits")
