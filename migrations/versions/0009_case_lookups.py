"""indexes for finding a person's cases and a case's transcript and notes

Revision ID: 0009_case_lookups
Revises: 0008_unfinished
Create Date: 2026-12-07 07:00:00

Every turn looks up its sender's active case, and the console and the hand-over read a case's
lines and notes: without these, each was a scan of the whole table (seen on PostgreSQL: one
sequential scan of `cases` a turn), growing with every case ever opened.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_case_lookups"
down_revision: str | None = "0008_unfinished"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_cases_user", "cases", ["user_id", "id"]),
    ("ix_case_messages_case", "case_messages", ["case_id", "id"]),
    ("ix_case_notes_case", "case_notes", ["case_id", "id"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
