"""Staff accounts, shared by `safestep staff create` and the admin page."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console import audit
from bot.console.auth import ROLES, hash_password
from bot.db.models import Staff
from bot.understanding.base import LANGUAGES

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """Bad input for an account; the message says what to fix."""


def create_staff(
    session: Session,
    *,
    email: str,
    role: str,
    password: str,
    languages: list[str] | None = None,
    by: int | None = None,
) -> Staff:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    unknown = set(languages or ()) - set(LANGUAGES)
    if unknown:
        raise AccountError(f"unknown languages {sorted(unknown)}; use {', '.join(LANGUAGES)}")
    if session.scalar(select(func.count()).where(func.lower(Staff.email) == email)):
        raise AccountError(f"an account for {email} already exists")
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    staff = Staff(
        email=email,
        password_hash=password_hash,
        role=role,
        languages=list(languages or ()),
        active=True,
        failed_logins=0,
    )
    session.add(staff)
    session.flush()
    audit.record(session, "staff_create", staff_id=by, detail=f"{email} as {role}")
    return staff


def update_staff(
    session: Session, staff: Staff, *, by: int, active: bool | None = None, unlock: bool = False
) -> None:
    """Deactivate or reactivate an account, or lift a lockout."""
    changes = []
    if active is not None and active != staff.active:
        if not active and staff.id == by:
            raise AccountError("you cannot deactivate your own account")
        staff.active = active
        changes.append("activated" if active else "deactivated")
    if unlock:
        staff.locked_until, staff.failed_logins = None, 0
        changes.append("unlocked")
    if changes:
        audit.record(
            session, "staff_update", staff_id=by, detail=f"{staff.email}: {', '.join(changes)}"
        )
