"""Logging in (password, then the TOTP code or its enrolment, then a new password after a
reset), logging out, and the staff member's own account page."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.clock import utcnow
from bot.console import audit
from bot.console.auth import (
    COOKIE,
    DEVICE_COOKIE,
    DEVICE_DAYS,
    MIN_PASSWORD,
    STEP_PAGES,
    SUPERVISOR,
    Login,
    Policy,
    account_key,
    advance,
    authenticate,
    check_csrf,
    check_totp,
    client_ip,
    device_cookie,
    device_staff,
    end_session,
    hash_password,
    new_totp_secret,
    next_stage,
    open_session,
    password_matches,
    record_failure,
    require_step,
    revoke,
    set_cookie,
    throttled,
    totp_step,
    totp_uri,
)
from bot.console.web import render
from bot.db.models import ConsoleSession, Staff
from bot.db.session import Database
from bot.services.crypto import decrypt, encrypt
from bot.settings import Settings

router = APIRouter()
WRONG = "Wrong email or password."
THROTTLED = "Too many failed attempts. Wait {minutes} minutes, then try again."
ANY_STEP = ("ok", "totp", "totp_enrol", "password")
LoggedIn = Annotated[Login, Depends(require_step("ok"))]


def _db(request: Request) -> Database:
    return request.app.state.db


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _continue(request: Request, stage: str, staff_id: int, token: str | None = None) -> Response:
    """On to the page for the login's next step (or the queue), with the session cookie if it
    is new. A finished login marks this browser as known to the account (see `throttled`)."""
    settings = _settings(request)
    response = RedirectResponse(STEP_PAGES.get(stage, "/console/"), status_code=303)
    if token:
        set_cookie(response, request, COOKIE, token, settings.CONSOLE_SESSION_HOURS * 3600)
    if stage == "ok":
        mark = device_cookie(staff_id, settings.SESSION_SECRET)
        set_cookie(response, request, DEVICE_COOKIE, mark, DEVICE_DAYS * 86400)
    return response


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login")
async def login(
    request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    await check_csrf(request, login_form=True)
    outcome = await run_in_threadpool(_login, request, email, password)
    if isinstance(outcome, str):
        return render(request, "login.html", None, status_code=401, error=outcome, email=email)
    token, stage, staff_id = outcome
    return _continue(request, stage, staff_id, token)


def _login(request: Request, email: str, password: str) -> tuple[str, str, int] | str:
    """The new session's token, its stage and the account, or the message for the page."""
    settings = _settings(request)
    now = utcnow()
    with _db(request).session() as session:
        staff, why = authenticate(
            session,
            email,
            password,
            ip=client_ip(request),
            device_staff=device_staff(request),
            now=now,
            policy=Policy.of(settings),
        )
        if staff is None:
            # The typed email is kept only as far as it names a real account.
            known = why in ("wrong", "inactive")
            detail = f"{why}: {email.strip().lower()}" if known else why
            audit.record(session, "login_failed", staff_id=None, detail=detail)
            if why == "throttled":
                return THROTTLED.format(minutes=settings.CONSOLE_THROTTLE_MINUTES)
            return WRONG
        if request.cookies.get(COOKIE):  # the login this browser had before ends here
            end_session(session, request.cookies[COOKIE])
        stage = next_stage(staff, passed_totp=False)
        token = open_session(session, staff, stage, now=now, hours=settings.CONSOLE_SESSION_HOURS)
        audit.record(session, "login", staff_id=staff.id, detail=f"password ok; next: {stage}")
        return token, stage, staff.id


# ---- the second factor ------------------------------------------------------------------


@router.get("/login/code")
def code_page(request: Request, login: Annotated[Login, Depends(require_step("totp"))]) -> Response:
    return render(request, "login_code.html", None)


@router.post("/login/code")
def code(
    request: Request,
    login: Annotated[Login, Depends(require_step("totp"))],
    code: Annotated[str, Form()] = "",
) -> Response:
    settings = _settings(request)
    now = utcnow()
    with _db(request).session() as session:
        staff = session.get_one(Staff, login.staff.id)
        key, ip = account_key(staff.email), client_ip(request)
        known = device_staff(request) == staff.id
        if throttled(session, key, ip, now=now, policy=Policy.of(settings), known_device=known):
            error = THROTTLED.format(minutes=settings.CONSOLE_THROTTLE_MINUTES)
        elif check_totp(staff, code, now):
            stage = _advance(request, session, login, staff)
            return _continue(request, stage, staff.id)
        else:
            record_failure(session, key, ip, now)
            audit.record(session, "login_failed", staff_id=None, detail=f"code: {staff.email}")
            error = "That code is not right. Type the 6 digits your app shows now."
    return render(request, "login_code.html", None, status_code=401, error=error)


def _advance(request: Request, session: Session, login: Login, staff: Staff) -> str:
    """The code was right: the session moves on to what the login still needs."""
    stage = next_stage(staff, passed_totp=True)
    row = session.get_one(ConsoleSession, login.row.id)
    advance(row, stage, now=utcnow(), hours=_settings(request).CONSOLE_SESSION_HOURS)
    return stage


@router.get("/account/totp")
def enrol_page(
    request: Request, login: Annotated[Login, Depends(require_step("ok", "totp_enrol"))]
) -> Response:
    """A new secret for the authenticator app, kept (encrypted) in the session until a code
    from the app proves it was saved."""
    with _db(request).session() as session:
        row = session.get_one(ConsoleSession, login.row.id)
        if row.pending_totp_enc is None:
            row.pending_totp_enc = encrypt(new_totp_secret())
        secret = decrypt(row.pending_totp_enc)
    uri = totp_uri(secret, login.staff.email)
    return _enrol_page(request, login, secret, uri)


def _enrol_page(
    request: Request, login: Login, secret: str, uri: str, error: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "totp.html",
        login.staff if login.row.stage == "ok" else None,
        status_code=400 if error else 200,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        uri=uri,
        qr=segno.make(uri, error="m").svg_data_uri(scale=4),
        required=login.row.stage == "totp_enrol",
        error=error,
    )


@router.post("/account/totp")
def enrol(
    request: Request,
    login: Annotated[Login, Depends(require_step("ok", "totp_enrol"))],
    code: Annotated[str, Form()] = "",
) -> Response:
    now = utcnow()
    with _db(request).session() as session:
        row = session.get_one(ConsoleSession, login.row.id)
        if row.pending_totp_enc is None:
            return RedirectResponse("/console/account/totp", status_code=303)
        secret = decrypt(row.pending_totp_enc)
        step = totp_step(secret, code, now, None)
        if step is not None:
            staff = session.get_one(Staff, login.staff.id)
            staff.totp_secret_enc, staff.totp_last_step = row.pending_totp_enc, step
            row.pending_totp_enc = None
            audit.record(session, "totp_enrol", staff_id=staff.id)
            if row.stage == "ok":
                return RedirectResponse("/console/account", status_code=303)
            return _continue(request, _advance(request, session, login, staff), staff.id)
    error = "That code is not right. Check the app's clock and type the 6 digits it shows now."
    return _enrol_page(request, login, secret, totp_uri(secret, login.staff.email), error)


@router.post("/account/totp/remove")
def remove_totp(
    request: Request, login: LoggedIn, password: Annotated[str, Form()] = ""
) -> Response:
    """Agents may turn the second factor off again (with their password); above agent it stays."""
    if login.staff.role in SUPERVISOR:
        return _account(request, login, "Supervisors and admins must keep a second factor.")
    with _db(request).session() as session:
        staff = session.get_one(Staff, login.staff.id)
        if not password_matches(staff.password_hash, password):
            return _account(request, login, "Wrong password; the second factor stays on.")
        staff.totp_secret_enc = staff.totp_last_step = None
        audit.record(session, "totp_remove", staff_id=staff.id)
    return RedirectResponse("/console/account", status_code=303)


# ---- the account and its password --------------------------------------------------------


@router.get("/account")
def account_page(request: Request, login: LoggedIn) -> Response:
    return _account(request, login)


@router.get("/account/password")
def password_page(
    request: Request, login: Annotated[Login, Depends(require_step("ok", "password"))]
) -> Response:
    return _account(request, login)


def _account(request: Request, login: Login, error: str | None = None) -> HTMLResponse:
    """The account page; after an admin reset, only its password form (no menu)."""
    forced = login.row.stage == "password"
    return render(
        request,
        "account.html",
        None if forced else login.staff,
        status_code=400 if error else 200,
        forced=forced,
        error=error,
        agent=login.staff.role not in SUPERVISOR,
    )


@router.post("/account/password")
def change_password(
    request: Request,
    login: Annotated[Login, Depends(require_step("ok", "password"))],
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
) -> Response:
    """A new password ends every session of the account (other browsers, copied cookies);
    this browser gets a fresh one."""
    settings = _settings(request)
    now = utcnow()
    with _db(request).session() as session:
        staff = session.get_one(Staff, login.staff.id)
        error = _password_error(staff, current, new, repeat)
        if error is None:
            staff.password_hash = hash_password(new)
            staff.must_change_password = False
            revoke(session, staff.id)
            token = open_session(
                session, staff, "ok", now=now, hours=settings.CONSOLE_SESSION_HOURS
            )
            audit.record(session, "password_change", staff_id=staff.id)
        elif error == WRONG_CURRENT:
            record_failure(session, account_key(staff.email), client_ip(request), now)
    if error is not None:
        return _account(request, login, error)
    return _continue(request, "ok", staff.id, token)


WRONG_CURRENT = "The current password is wrong."


def _password_error(staff: Staff, current: str, new: str, repeat: str) -> str | None:
    if not password_matches(staff.password_hash, current):
        return WRONG_CURRENT
    if new != repeat:
        return "The two new passwords differ."
    if new == current:
        return "Choose a password different from the current one."
    if len(new) < MIN_PASSWORD:
        return f"A password needs at least {MIN_PASSWORD} characters."
    return None


@router.post("/logout")
def logout(request: Request, login: Annotated[Login, Depends(require_step(*ANY_STEP))]) -> Response:
    with _db(request).session() as session:
        end_session(session, request.cookies[COOKIE])
        audit.record(session, "logout", staff_id=login.staff.id)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
