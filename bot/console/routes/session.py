"""Logging in and out. Failed attempts are audited and count towards the lockout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.clock import utcnow
from bot.console import audit
from bot.console.auth import (
    AGENT,
    Policy,
    authenticate,
    check_csrf,
    end_session,
    require_role,
    start_session,
)
from bot.console.web import render
from bot.db.models import Staff
from bot.db.session import Database
from bot.settings import Settings

router = APIRouter()

_MESSAGES = {
    "locked": "Too many failed attempts: this account is locked for a while. Ask a supervisor.",
}


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login")
async def login(
    request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    await check_csrf(request)
    staff, why = await run_in_threadpool(_authenticate, request, email, password)
    if staff is None:
        error = _MESSAGES.get(why, "Wrong email or password.")
        return render(request, "login.html", None, status_code=401, error=error, email=email)
    start_session(request, staff, utcnow())
    return RedirectResponse("/console/", status_code=303)


def _authenticate(request: Request, email: str, password: str) -> tuple[Staff | None, str]:
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    policy = Policy(settings.CONSOLE_LOCKOUT_ATTEMPTS, settings.CONSOLE_LOCKOUT_MINUTES)
    with db.session() as session:
        staff, why = authenticate(session, email, password, now=utcnow(), policy=policy)
        if staff is not None:
            audit.record(session, "login", staff_id=staff.id)
        else:
            # The typed email is kept only as far as it names a real account.
            known = why != "unknown"
            audit.record(
                session,
                "login_failed",
                staff_id=None,
                detail=f"{why}: {email.strip().lower()}" if known else why,
            )
        return staff, why


@router.post("/logout")
def logout(request: Request, staff: Annotated[Staff, Depends(require_role(*AGENT))]) -> Response:
    db: Database = request.app.state.db
    with db.session() as session:
        audit.record(session, "logout", staff_id=staff.id)
    end_session(request)
    return RedirectResponse("/console/login", status_code=303)
