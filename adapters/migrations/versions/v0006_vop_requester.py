"""Verification of Payee on the requester side: the check a payment was made after.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

``rm_transactions.vop_check_id`` (nullable): the check (``POST /v1/vop/checks``) the payer saw
before authorising the payment, from the ``Received`` event's ``vop_check_id`` (none for
payments recorded before it existed, and for payments sent without one).
``rm_vop_checks.requester`` widens from 16 to 128 characters: a requester check records the
calling principal (``service:<name>``), not a BIC (on PostgreSQL only: SQLite ignores a
VARCHAR's length, and altering it there would rebuild the append-only table);
``rm_vop_checks.payer_iban`` (nullable): the payer's account a requester check names.
Plain ``ADD COLUMN`` on both databases (no table copy). The downgrade drops the two columns
and leaves ``requester`` wide (see :func:`downgrade`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES: tuple[str, ...] = ()
"""The tables this revision creates (none: it adds a column and widens another)."""


def upgrade() -> None:
    op.add_column("rm_transactions", sa.Column("vop_check_id", sa.String(length=36), nullable=True))
    if op.get_bind().dialect.name != "sqlite":
        # SQLite ignores a VARCHAR's length: widening would only rebuild (copy) the
        # append-only table; the schema comparison ignores String lengths there too
        op.alter_column(
            "rm_vop_checks",
            "requester",
            existing_type=sa.String(length=16),
            type_=sa.String(length=128),
            existing_nullable=False,
        )
    op.add_column("rm_vop_checks", sa.Column("payer_iban", sa.String(length=34), nullable=True))


def downgrade() -> None:
    # ``requester`` keeps its width: narrowing it would fail on (or truncate) the principals
    # the requester side recorded, and rm_vop_checks is an append-only audit table; a wider
    # column is harmless to the older code.
    with op.batch_alter_table("rm_vop_checks") as batch:
        batch.drop_column("payer_iban")
    with op.batch_alter_table("rm_transactions") as batch:
        batch.drop_column("vop_check_id")
