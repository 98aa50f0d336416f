"""The audit log is append-only, and on PostgreSQL the database itself enforces it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from bot.console import audit
from bot.db.models import AuditEntry
from bot.db.session import Database
from tests.fixtures.database import _fresh_postgres


@pytest.mark.postgres
def test_postgres_refuses_to_change_or_delete_audit_rows(postgres_available: None) -> None:
    db = Database(_fresh_postgres())
    try:
        with db.session() as session:
            audit.record(session, "login", staff_id=None, detail="kept")
        for statement in (
            update(AuditEntry).values(detail="rewritten"),
            delete(AuditEntry),
            text("TRUNCATE audit_log"),
        ):
            with pytest.raises(DBAPIError, match="append-only"), db.session() as session:
                session.execute(statement)
        with db.sessions() as session:
            assert session.scalars(text("SELECT detail FROM audit_log")).all() == ["kept"]
        with db.session() as session:  # adding stays possible
            audit.record(session, "logout", staff_id=None)
    finally:
        db.dispose()
