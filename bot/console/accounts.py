"""Staff accounts, shared by `safestep staff create` and the admin page."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.console import audit
from bot.console.auth import ROLES, hash_password, revoke
from bot.db.models import Case, Staff
from bot.db.session import rowcount
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
    )
    session.add(staff)
    session.flush()
    audit.record(session, "staff_create", staff_id=by, detail=f"{email} as {role}")
    return staff


def update_staff(
    session: Session,
    staff: Staff,
    *,
    by: int,
    active: bool | None = None,
    password: str | None = None,
    reset_totp: bool = False,
) -> None:
    """Deactivate or reactivate an account, reset its password (to be changed at the next
    login) or its second factor. Each of these ends the account's sessions; a deactivated
    agent's cases go back to the unassigned queue."""
    changes = []
    if active is not None and active != staff.active:
        if not active and staff.id == by:
            raise AccountError("you cannot deactivate your own account")
        staff.active = active
        changes.append("activated" if active else "deactivated")
        if not active:
            released = rowcount(
                session.execute(
                    update(Case)
                    .where(Case.assignee_id == staff.id, Case.status != "resolved")
                    .values(assignee_id=None)
                )
            )
            changes.append(f"{released} open cases back to the queue")
    if password is not None:
        try:
            staff.password_hash = hash_password(password)
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        staff.must_change_password = True
        changes.append("password reset")
    if reset_totp:
        staff.totp_secret_enc = staff.totp_last_step = None
        changes.append("second factor reset")
    if changes:
        revoke(session, staff.id)
        audit.record(
            session, "staff_update", staff_id=by, detail=f"{staff.email}: {', '.join(changes)}"
        )
