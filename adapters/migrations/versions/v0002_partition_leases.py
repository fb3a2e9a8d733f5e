"""Partition leases: the members of a lease group and one lease row per partition.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

``adapters/partitions`` (docs/scale-out.md): ``partition_members`` holds each live replica's
last heartbeat (database time); ``partition_leases`` each partition's owner and fencing token.
Both are plain tables on SQLite too (the leases themselves need PostgreSQL's row locks).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("partition_members", "partition_leases")
"""The tables this revision creates."""


def upgrade() -> None:
    op.create_table(
        "partition_members",
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "member_id"),
    )
    op.create_table(
        "partition_leases",
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("group_name", "partition"),
    )


def downgrade() -> None:
    op.drop_table("partition_leases")
    op.drop_table("partition_members")
