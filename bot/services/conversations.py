"""Where each person is in a flow: one row per user, written whole at the end of a turn."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from bot.db.models import Conversation
from bot.db.session import insert_for
from bot.dialogue.base import ConversationSaved


def save(session: Session, state: ConversationSaved) -> None:
    """Insert or replace the person's row, in one statement built once."""
    session.execute(_upsert(session.get_bind().dialect.name), asdict(state))


@cache
def _upsert(dialect: str) -> Any:
    table = cast(Table, Conversation.__table__)
    insert = insert_for(dialect)(table)
    columns = ("flow", "step", "slots", "path", "misses", "updated_at")
    return insert.on_conflict_do_update(
        index_elements=["user_id"], set_={c: insert.excluded[c] for c in columns}
    )
