"""The reports' scan order: postings by recording time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``ix_rm_postings_recorded`` on ``rm_postings (recorded_at, account_id, version)``: the
transaction journal (``projections/reports/journal.py``, docs/reports.md) reads every posting
of a period in recording order, keyset paginated on exactly these columns; without the index
each chunk would scan the whole table.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES: tuple[str, ...] = ()
"""The tables this revision creates (none: it adds an index)."""


def upgrade() -> None:
    op.create_index(
        "ix_rm_postings_recorded",
        "rm_postings",
        ["recorded_at", "account_id", "version"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_rm_postings_recorded", table_name="rm_postings")
