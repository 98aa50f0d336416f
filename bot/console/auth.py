"""Who is at the console: argon2 passwords, lockout, the signed session, CSRF and role checks.

The session cookie (Starlette's, signed with SESSION_SECRET) holds only the staff id, a login
time and the CSRF token; every request reloads the account, so deactivating someone takes
effect at their next click.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.clock import utcnow
from bot.db.models import Staff
from bot.db.session import Database

ROLES = ("agent", "supervisor", "admin")
# Roles nest: a supervisor can do what an agent does, an admin what a supervisor does.
AGENT, SUPERVISOR, ADMIN = ROLES, ROLES[1:], ROLES[2:]
CSRF_FIELD = "csrf_token"
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Policy:
    attempts: int
    lock_minutes: int


def authenticate(
    session: Session, email: str, password: str, *, now: datetime, policy: Policy
) -> tuple[Staff | None, str]:
    """The account and "ok", or None and why ("unknown", "locked", "inactive", "wrong").

    Every wrong password counts; reaching `policy.attempts` locks the account for
    `policy.lock_minutes`, during which even the right password is refused.
    """
    staff = session.scalars(
        select(Staff).where(func.lower(Staff.email) == email.strip().lower())
    ).one_or_none()
    if staff is None:
        _password_matches(_DUMMY_HASH, password)
        return None, "unknown"
    if staff.locked_until is not None and staff.locked_until > now:
        return None, "locked"
    if not _password_matches(staff.password_hash, password):
        # Counted in the database, not on the loaded row: parallel attempts must all count.
        staff.failed_logins = session.execute(
            update(Staff)
            .where(Staff.id == staff.id)
            .values(failed_logins=Staff.failed_logins + 1)
            .returning(Staff.failed_logins)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        if staff.failed_logins >= policy.attempts:
            staff.locked_until = now + timedelta(minutes=policy.lock_minutes)
            staff.failed_logins = 0
            return None, "locked"
        return None, "wrong"
    if not staff.active:
        return None, "inactive"
    staff.failed_logins, staff.locked_until = 0, None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    return staff, "ok"


# ---- session and CSRF -------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (the login form needs one too)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request) -> None:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and expected and hmac.compare_digest(sent, expected)):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def start_session(request: Request, staff: Staff, now: datetime) -> None:
    """A fresh session (new CSRF token) at login, so nothing planted before it survives."""
    request.session.clear()
    request.session.update(staff=staff.id, at=now.isoformat(), csrf=secrets.token_urlsafe(32))


def end_session(request: Request) -> None:
    request.session.clear()


class NotLoggedIn(Exception):
    """Answered with a redirect to the login page (see `bot.console.install`)."""


def require_role(*roles: str) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency: the logged-in, active staff member holding one of `roles`.

    POST requests must also carry the session's CSRF token, so every form is protected by
    declaring its role.
    """
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def dependency(request: Request) -> Staff:
        settings = request.app.state.settings
        staff_id = _session_staff(request, settings.CONSOLE_SESSION_HOURS, utcnow())
        db: Database = request.app.state.db
        staff = await run_in_threadpool(_load, db, staff_id) if staff_id else None
        if staff is None:
            request.session.clear()
            raise NotLoggedIn
        if staff.role not in roles:
            raise HTTPException(403, "your role does not allow this page")
        if request.method == "POST":
            await check_csrf(request)
        return staff

    return dependency


def _session_staff(request: Request, hours: int, now: datetime) -> int | None:
    """The logged-in staff id, while the login is younger than `hours`. The cookie is re-sent
    (and its own age reset) on every response, so a polling page would otherwise never expire."""
    try:
        started = datetime.fromisoformat(request.session["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if now >= started + timedelta(hours=hours):
        return None
    return request.session.get("staff")


def _load(db: Database, staff_id: int) -> Staff | None:
    with db.session() as session:
        staff = session.get(Staff, staff_id)
        return staff if staff is not None and staff.active else None
