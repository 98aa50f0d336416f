"""partial indexes of unfinished inbound events and unsent replies, in id order

Revision ID: 0008_unfinished
Revises: 0007_indicators
Create Date: 2026-12-07 05:20:00

A claim walks the rows in id order; by the primary key it stepped over every finished row first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_unfinished"
down_revision: str | None = "0007_indicators"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNFINISHED = sa.text("status IN ('pending', 'working')")
_INDEXES = (("ix_inbound_unfinished", "inbound_events"), ("ix_outbox_unsent", "outbox"))


def upgrade() -> None:
    for name, table in _INDEXES:
        op.create_index(name, table, ["id"], postgresql_where=_UNFINISHED, sqlite_where=_UNFINISHED)


def downgrade() -> None:
    for name, table in _INDEXES:
        op.drop_index(name, table_name=table)
