"""pipeline: claim tokens, reply expiry, channel circuit breakers

Revision ID: 0005_pipeline
Revises: 0004_console
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision: str = "0005_pipeline"
down_revision: str | None = "0004_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = bot.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("expires_at", UTC_DATETIME, nullable=True))
    op.create_table(
        "channel_breakers",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("retry_at", UTC_DATETIME, nullable=False),
        sa.Column("trips", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_breakers")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("claim_token")
    with op.batch_alter_table("inbound_events") as batch_op:
        batch_op.drop_column("claim_token")
