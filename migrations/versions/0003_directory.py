"""Corridor directory: who a hotline serves, its area, source address, retrieval date, listing.

Revision ID: 0003_directory
Revises: 0002_handover
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_directory"
down_revision: str | None = "0002_handover"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serves", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("area", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("source_url", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("retrieved", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("listing", sa.String(length=16), nullable=False, server_default="public")
        )


def downgrade() -> None:
    with op.batch_alter_table("hotlines", schema=None) as batch_op:
        for column in ("listing", "retrieved", "source_url", "area", "serves"):
            batch_op.drop_column(column)
