"""The person's side of a hand-over: acknowledgements, and alerts for unanswered urgent cases.

Revision ID: 0002_handover
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision: str = "0002_handover"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = bot.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acked_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("alerted_at", WHEN, nullable=True))
    op.create_table(
        "alerts",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("acknowledged_at", WHEN, nullable=True),
        sa.Column("acknowledged_by", ID, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_open", ["acknowledged_at", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_open")
    op.drop_table("alerts")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("alerted_at")
        batch_op.drop_column("acked_at")
