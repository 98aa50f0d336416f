"""The append-only audit log: who did what, to which case, when. Rows are never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from bot.clock import utcnow
from bot.db.models import AuditEntry, Staff
from bot.db.session import Database

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "view",
    "claim",
    "assign",
    "reply",
    "note",
    "status",
    "labels",
    "resolve",
    "denied",
    "staff_create",
    "staff_update",
    "export",
    "password_change",
    "totp_enrol",
    "totp_remove",
    "canned_edit",
    "alert_ack",
)


def record(
    session: Session,
    action: str,
    *,
    staff_id: int | None,
    case_id: int | None = None,
    detail: str | None = None,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEntry(
            staff_id=staff_id,
            action=action,
            case_id=case_id,
            detail=detail[:512] if detail else None,
            at=utcnow(),
        )
    )


def record_request(
    db: Database, action: str, staff_id: int, request: Request, case_id: int | None = None
) -> None:
    """A page seen ("view") or a file exported ("export"), with its address, on its own."""
    where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    with db.session() as session:
        record(session, action, staff_id=staff_id, case_id=case_id, detail=where)


@dataclass(frozen=True)
class AuditFilter:
    email: str | None = None
    action: str | None = None
    case_id: int | None = None


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    email: str | None
    action: str
    case_id: int | None
    detail: str | None


def entries(session: Session, where: AuditFilter, limit: int = 500) -> list[AuditRow]:
    """Newest first."""
    query = (
        select(AuditEntry, Staff.email)
        .outerjoin(Staff, Staff.id == AuditEntry.staff_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if where.email:
        query = query.where(Staff.email == where.email)
    if where.action:
        query = query.where(AuditEntry.action == where.action)
    if where.case_id is not None:
        query = query.where(AuditEntry.case_id == where.case_id)
    return [
        AuditRow(entry.at, email, entry.action, entry.case_id, entry.detail)
        for entry, email in session.execute(query)
    ]
