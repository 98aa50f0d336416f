"""indicator counters kept with each event; closed-month cache dropped

Revision ID: 0007_indicators
Revises: 0006_distress
Create Date: 2026-11-29 09:10:00

The counters start empty with no `indicator_state` row: the first report rebuilds them from
`analytics_monthly` (one bulk pass), and events keep them from then on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision: str = "0007_indicators"
down_revision: str | None = "0006_distress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "indicator_members",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("user_key", _KEY, nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("month", "family", "dimension", "value", "user_key"),
    )
    op.create_index("ix_indicator_members_user_key", "indicator_members", ["user_key"])
    op.create_table(
        "indicator_counts",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "family", "dimension", "value", "shard"),
    )
    op.create_table(
        "indicator_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config", sa.String(length=16), nullable=False),
        sa.Column("built_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.drop_table("indicator_months")


def downgrade() -> None:
    op.create_table(
        "indicator_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("config", sa.String(length=16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("computed_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", "config"),
    )
    op.drop_table("indicator_state")
    op.drop_table("indicator_counts")
    op.drop_index("ix_indicator_members_user_key", table_name="indicator_members")
    op.drop_table("indicator_members")
