"""Who is at the console: argon2 passwords, the login throttle, TOTP, server-side sessions,
CSRF and role checks.

The session cookie holds only a random token; the `console_sessions` row (keyed by its SHA-256)
says whose it is, what the login still needs (a TOTP code, enrolment, a new password) and its
CSRF token. Logout, deactivation, a password change and expiry delete or outdate the row, so a
copied cookie stops working at once. Before login the form's CSRF token is a double-submit
cookie, so nothing is stored for visitors.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request, Response
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.clock import utcnow
from bot.db.models import ConsoleSession, LoginFailure, Staff
from bot.db.session import Database
from bot.services.crypto import decrypt
from bot.settings import Settings

ROLES = ("agent", "supervisor", "admin")
# Roles nest: a supervisor can do what an agent does, an admin what a supervisor does.
AGENT, SUPERVISOR, ADMIN = ROLES, ROLES[1:], ROLES[2:]
CSRF_FIELD = "csrf_token"
MIN_PASSWORD = 10
COOKIE = "safestep_console"
LOGIN_COOKIE = "safestep_login"  # the login form's CSRF token, before any session exists
DEVICE_COOKIE = "safestep_device"  # "this browser logged in as N before": see `authenticate`
DEVICE_DAYS = 90
STEP_MINUTES = 10  # how long a half-done login (code, enrolment, new password) may take
STEP_PAGES = {
    "totp": "/console/login/code",
    "totp_enrol": "/console/account/totp",
    "password": "/console/account/password",
}

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# ---- the throttle -----------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Failures allowed per typed email and per client address within `minutes`."""

    account_attempts: int
    ip_attempts: int
    minutes: int

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.CONSOLE_THROTTLE_ACCOUNT_ATTEMPTS,
            settings.CONSOLE_THROTTLE_IP_ATTEMPTS,
            settings.CONSOLE_THROTTLE_MINUTES,
        )


def account_key(email: str) -> str:
    """The throttle's name for a typed email: the same for accounts that exist and that do not."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def throttled(
    session: Session, key: str, ip: str, *, now: datetime, policy: Policy, known_device: bool
) -> bool:
    """Too many recent failures from this address, or for this email from browsers it never
    logged in from. A browser the account logged in from before (its device cookie) is exempt
    from the account count, so guessing someone's password cannot lock them out of their own
    browser; the per-address count still holds there."""
    since = now - timedelta(minutes=policy.minutes)
    session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    by_ip = session.scalar(select(func.count()).where(LoginFailure.ip == ip)) or 0
    if by_ip >= policy.ip_attempts:
        return True
    if known_device:
        return False
    by_account = session.scalar(select(func.count()).where(LoginFailure.account == key)) or 0
    return by_account >= policy.account_attempts


def record_failure(session: Session, key: str, ip: str, now: datetime) -> None:
    session.add(LoginFailure(ip=ip[:64], account=key, at=now))


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    ip: str,
    device_staff: int | None,
    now: datetime,
    policy: Policy,
) -> tuple[Staff | None, str]:
    """The account and "ok", or None and why: "throttled", "unknown", "wrong", "inactive".

    The page says the same for "unknown" and "wrong"; the throttle is checked before the
    password, so a throttled guess learns nothing.
    """
    key = account_key(email)
    staff = session.scalars(
        select(Staff).where(func.lower(Staff.email) == email.strip().lower())
    ).one_or_none()
    known = staff is not None and device_staff == staff.id
    if throttled(session, key, ip, now=now, policy=policy, known_device=known):
        return None, "throttled"
    if staff is None or not password_matches(staff.password_hash, password):
        if staff is None:
            password_matches(_DUMMY_HASH, password)
        record_failure(session, key, ip, now)
        return None, "unknown" if staff is None else "wrong"
    if not staff.active:
        return None, "inactive"
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    return staff, "ok"


# ---- TOTP -------------------------------------------------------------------------------

TOTP_STEP = 30


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="SafeStep console")


def totp_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step `code` belongs to (this one or either neighbour, for clock drift), or None;
    a step at or before `after` (the last one used) is refused, so a code works once."""
    code = "".join(code.split())
    if not (code.isdecimal() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def check_totp(staff: Staff, code: str, now: datetime) -> bool:
    if staff.totp_secret_enc is None:
        return False
    step = totp_step(decrypt(staff.totp_secret_enc), code, now, staff.totp_last_step)
    if step is None:
        return False
    staff.totp_last_step = step
    return True


def next_stage(staff: Staff, *, passed_totp: bool) -> str:
    """What a login still needs: the code (or enrolment, required above agent), then a new
    password after an admin reset."""
    if not passed_totp and staff.totp_secret_enc is not None:
        return "totp"
    if not passed_totp and staff.role in SUPERVISOR:
        return "totp_enrol"
    if staff.must_change_password:
        return "password"
    return "ok"


# ---- sessions ---------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, staff: Staff, stage: str, *, now: datetime, hours: int) -> str:
    """A new server-side session; returns the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=_digest(token),
            staff_id=staff.id,
            stage=stage,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + _lifetime(stage, hours),
        )
    )
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    return token


def advance(row: ConsoleSession, stage: str, *, now: datetime, hours: int) -> None:
    """Move a session to its next stage; a finished login lives `hours` from now."""
    row.stage = stage
    row.expires_at = now + _lifetime(stage, hours)


def _lifetime(stage: str, hours: int) -> timedelta:
    return timedelta(hours=hours) if stage == "ok" else timedelta(minutes=STEP_MINUTES)


def revoke(session: Session, staff_id: int) -> None:
    """End every session of this account (password change, reset, deactivation)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.staff_id == staff_id))


def end_session(session: Session, token: str) -> None:
    """End the session this cookie token names (logout; a new login in the same browser)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.id == _digest(token)))


def put_flash(session: Session, request: Request, message: str) -> None:
    """A message for the next page this session sees (why an action was refused)."""
    login: Login = request.state.login
    row = session.get(ConsoleSession, login.row.id)
    if row is not None:
        row.flash = message[:512]


def take_flash(session: Session, request: Request) -> str | None:
    login: Login = request.state.login
    row = session.get(ConsoleSession, login.row.id)
    if row is None:
        return None
    message, row.flash = row.flash, None
    return message


@dataclass(frozen=True)
class Login:
    """The request's session and its account, as loaded at the start of the request."""

    row: ConsoleSession
    staff: Staff


def _load(db: Database, token: str, now: datetime) -> Login | None:
    with db.sessions() as session:
        row = session.get(ConsoleSession, _digest(token))
        if row is None or row.expires_at <= now:
            return None
        staff = session.get(Staff, row.staff_id)
        if staff is None or not staff.active:
            return None
        return Login(row, staff)


async def current_login(request: Request) -> Login | None:
    """The request's login, whatever its stage (cached on the request)."""
    if not hasattr(request.state, "login"):
        token = request.cookies.get(COOKIE)
        db: Database = request.app.state.db
        request.state.login = await run_in_threadpool(_load, db, token, utcnow()) if token else None
    return request.state.login


def set_cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=settings.session_cookie_secure,
    )


def device_cookie(staff_id: int, secret: str) -> str:
    nonce = secrets.token_urlsafe(12)
    return f"{staff_id}.{nonce}.{_device_mac(staff_id, nonce, secret)}"


def device_staff(request: Request) -> int | None:
    """The account this browser logged in as before, if its device cookie is genuine."""
    staff_id, _, rest = (request.cookies.get(DEVICE_COOKIE) or "").partition(".")
    nonce, _, mac = rest.partition(".")
    if not (staff_id.isdecimal() and nonce and mac):
        return None
    secret = request.app.state.settings.SESSION_SECRET
    expected = _device_mac(int(staff_id), nonce, secret)
    return int(staff_id) if hmac.compare_digest(mac, expected) else None


def _device_mac(staff_id: int, nonce: str, secret: str) -> str:
    message = f"device:{staff_id}:{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---- CSRF and roles ---------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token; before login, the login cookie's (created on first use)."""
    login: Login | None = getattr(request.state, "login", None)
    if login is not None:
        return login.row.csrf
    token = request.cookies.get(LOGIN_COOKIE) or getattr(request.state, "new_login_csrf", None)
    if not token:
        token = request.state.new_login_csrf = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request, *, login_form: bool = False) -> None:
    """The form's token must be the session's (the login form's: the login cookie's, even
    while another login is still open in this browser)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    login = None if login_form else await current_login(request)
    expected = login.row.csrf if login is not None else request.cookies.get(LOGIN_COOKIE)
    if not (isinstance(sent, str) and expected and hmac.compare_digest(sent, expected)):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


class NotLoggedIn(Exception):
    """Answered with a redirect to the login page (see `bot.console.install`)."""


class NextStep(Exception):
    """The login is not finished: answered with a redirect to the page for its next step."""

    def __init__(self, location: str) -> None:
        self.location = location


def require_step(*stages: str) -> Callable[[Request], Awaitable[Login]]:
    """A dependency for the pages of a login's steps: a session at one of `stages`."""

    async def dependency(request: Request) -> Login:
        login = await current_login(request)
        if login is None:
            raise NotLoggedIn
        if login.row.stage not in stages:
            raise NextStep(STEP_PAGES.get(login.row.stage, "/console/"))
        if request.method == "POST":
            await check_csrf(request)
        return login

    return dependency


def require_role(*roles: str) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency: the logged-in (all steps done), active staff member holding one of `roles`.

    POST requests must also carry the session's CSRF token, so every form is protected by
    declaring its role.
    """
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    logged_in = require_step("ok")

    async def dependency(request: Request) -> Staff:
        login = await logged_in(request)
        if login.staff.role not in roles:
            raise HTTPException(403, "your role does not allow this page")
        return login.staff

    return dependency
