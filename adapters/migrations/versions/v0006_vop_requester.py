"""Verification of Payee on the requester side: the check a payment was made after.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

``rm_transactions.vop_check_id`` (nullable): the check (``POST /v1/vop/checks``) the payer saw
before authorising the payment, from the ``Received`` event's ``vop_check_id`` (none for
payments recorded before it existed, and for payments sent without one).
``rm_vop_checks.requester`` widens from 16 to 128 characters: a requester check records the
calling principal (``service:<name>``), not a BIC; ``rm_vop_checks.payer_iban`` (nullable):
the payer's account a requester check names.
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
    with op.batch_alter_table("rm_transactions") as batch:
        batch.add_column(sa.Column("vop_check_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("rm_vop_checks") as batch:
        batch.alter_column(
            "requester",
            existing_type=sa.String(length=16),
            type_=sa.String(length=128),
            existing_nullable=False,
        )
        batch.add_column(sa.Column("payer_iban", sa.String(length=34), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rm_vop_checks") as batch:
        batch.drop_column("payer_iban")
        batch.alter_column(
            "requester",
            existing_type=sa.String(length=128),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
    with op.batch_alter_table("rm_transactions") as batch:
        batch.drop_column("vop_check_id")
