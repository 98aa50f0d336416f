"""Where each person is in a flow: one row per user, written whole at the end of a turn."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from bot.db import riders
from bot.db.models import Conversation
from bot.db.session import insert_for
from bot.dialogue.base import ConversationSaved

_COLUMNS = ("flow", "step", "slots", "path", "misses", "updated_at")
_FIELDS = ("user_id", *_COLUMNS)


def save(session: Session, state: ConversationSaved) -> None:
    """Insert or replace the person's row, in one statement built once; nothing in the turn
    reads it back, so on PostgreSQL it rides along the turn's next statement."""
    # Not `asdict`: its deep copy of the slots and path was 2% of a turn's CPU, and the
    # state is a frozen record of a finished turn.
    row = {name: getattr(state, name) for name in _FIELDS}
    riders.write(session, _upsert, row, key=state.user_id)


@cache
def _upsert(dialect: str, prefix: str) -> Any:
    table = cast(Table, Conversation.__table__)
    insert = insert_for(dialect)(table).values(riders.bound(table, _FIELDS, prefix))
    return insert.on_conflict_do_update(
        index_elements=["user_id"], set_={c: insert.excluded[c] for c in _COLUMNS}
    )
