"""The recorded Verification of Payee checks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

``rm_vop_checks`` (``projections/vop/checks.py``, docs/vop.md): one row per
``VopCheck.Answered`` event of the vop context, for GraphQL ``vopChecks`` / ``vopCheck``; the
projector fills it from the vop context's log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TABLES = ("rm_vop_checks",)
"""The tables this revision creates."""


def upgrade() -> None:
    op.create_table(
        "rm_vop_checks",
        sa.Column("check_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("requester", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("entry", sa.Integer(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("requested_name", sa.Text(), nullable=True),
        sa.Column("requested_identifier", JSON_DOC, nullable=True),
        sa.Column("outcome", sa.String(length=4), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("disclosed_name", sa.Text(), nullable=True),
        sa.Column("score", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("latency_us", sa.BigInteger(), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("check_id"),
    )
    for name, columns in (
        ("ix_rm_vop_checks_recorded", ["recorded_at", "check_id"]),
        ("ix_rm_vop_checks_iban", ["iban", "recorded_at", "check_id"]),
        ("ix_rm_vop_checks_requester", ["requester", "recorded_at", "check_id"]),
        ("ix_rm_vop_checks_outcome", ["outcome", "recorded_at", "check_id"]),
    ):
        op.create_index(name, "rm_vop_checks", columns, unique=False)


def downgrade() -> None:
    op.drop_table("rm_vop_checks")
