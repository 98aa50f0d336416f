"""Supervisor pages (audit log, weekly report) and the admin's staff accounts page."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from bot.clock import utcnow
from bot.console import audit, canned, queries
from bot.console.accounts import AccountError, create_staff, update_staff
from bot.console.auth import ADMIN, ROLES, SUPERVISOR, require_role
from bot.console.web import render
from bot.db.models import Alert, Staff
from bot.db.session import Database
from bot.services import alerts
from bot.understanding.base import LANGUAGES

router = APIRouter()
Supervisor = Annotated[Staff, Depends(require_role(*SUPERVISOR))]
Admin = Annotated[Staff, Depends(require_role(*ADMIN))]
REPORT_WEEKS = 12


def _db(request: Request) -> Database:
    return request.app.state.db


@router.get("/audit")
def audit_page(
    request: Request,
    staff: Supervisor,
    email: str = "",
    action: str = "",
    case: str = "",
) -> HTMLResponse:
    where = audit.AuditFilter(
        email=email.strip().lower() or None,
        action=action if action in audit.ACTIONS else None,
        case_id=int(case) if case.isdecimal() and int(case) <= queries.MAX_ID else None,
    )
    with _db(request).session() as session:
        rows = audit.entries(session, where)
    return render(request, "audit.html", staff, rows=rows, where=where, actions=audit.ACTIONS)


@router.get("/alerts/banner")
def alerts_banner(request: Request, staff: Supervisor) -> HTMLResponse:
    """The unacknowledged alerts alone: what every supervisor page polls for its banner."""
    return render(request, "_alerts.html", staff)


@router.post("/alerts/{alert_id}/acknowledge")
def alert_acknowledge(
    request: Request, staff: Supervisor, alert_id: Annotated[int, Path(ge=1, le=queries.MAX_ID)]
) -> Response:
    """The first to acknowledge is recorded on the alert and in the audit log; later clicks
    (two supervisors at once) change nothing."""
    with _db(request).session() as session:
        alert = session.get(Alert, alert_id)
        if alert is not None and alerts.acknowledge(session, alert_id, staff.id, utcnow()):
            audit.record(
                session, "alert_ack", staff_id=staff.id, case_id=alert.case_id, detail=alert.kind
            )
    return RedirectResponse("/console/", status_code=303)


@router.get("/report")
def report_page(request: Request, staff: Supervisor) -> HTMLResponse:
    since = utcnow() - timedelta(weeks=REPORT_WEEKS)
    with _db(request).session() as session:
        times = queries.case_times(session, since)
    weeks, by_indicator = queries.indicator_counts(t for t in times if t.opened_at >= since)
    return render(
        request,
        "report.html",
        staff,
        rows=queries.weekly_report(times),
        weeks=REPORT_WEEKS,
        indicator_weeks=weeks,
        by_indicator=by_indicator,
    )


@router.get("/staff")
def staff_page(request: Request, staff: Admin) -> HTMLResponse:
    return _staff_page(request, staff)


def _staff_page(request: Request, staff: Staff, error: str | None = None) -> HTMLResponse:
    with _db(request).session() as session:
        team = session.scalars(select(Staff).order_by(Staff.email)).all()
    return render(
        request,
        "staff.html",
        staff,
        status_code=400 if error else 200,
        team=team,
        roles=ROLES,
        languages=LANGUAGES,
        error=error,
        now=utcnow(),
    )


@router.post("/staff")
def staff_create(
    request: Request,
    staff: Admin,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
    languages: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        with _db(request).session() as session:
            create_staff(
                session,
                email=email,
                role=role,
                password=password,
                languages=languages,
                by=staff.id,
            )
    except AccountError as error:
        return _staff_page(request, staff, str(error))
    return RedirectResponse("/console/staff", status_code=303)


@router.post("/staff/{staff_id}")
def staff_update(
    request: Request,
    staff: Admin,
    staff_id: Annotated[int, Path(ge=1, le=queries.MAX_ID)],
    change: Annotated[str, Form()],
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        with _db(request).session() as session:
            target = session.get(Staff, staff_id)
            if target is None:
                raise AccountError("no such account")
            update_staff(
                session,
                target,
                by=staff.id,
                active={"activate": True, "deactivate": False}.get(change),
                password=password if change == "reset_password" else None,
                reset_totp=change == "reset_totp",
            )
    except AccountError as error:
        return _staff_page(request, staff, str(error))
    return RedirectResponse("/console/staff", status_code=303)


# ---- canned replies (admins) --------------------------------------------------------------


@router.get("/canned")
def canned_page(request: Request, staff: Admin, language: str = "en") -> HTMLResponse:
    return _canned_page(request, staff, language if language in LANGUAGES else "en")


def _canned_page(
    request: Request, staff: Staff, language: str, error: str | None = None
) -> HTMLResponse:
    with _db(request).session() as session:
        rows = canned.replies(session, language)
    return render(
        request,
        "canned.html",
        staff,
        status_code=400 if error else 200,
        rows=rows,
        language=language,
        languages=LANGUAGES,
        error=error,
    )


@router.post("/canned")
def canned_save(
    request: Request,
    staff: Admin,
    key: Annotated[str, Form()],
    language: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
) -> Response:
    try:
        with _db(request).session() as session:
            canned.save(session, staff.id, key, language, text)
    except canned.CannedError as error:
        return _canned_page(request, staff, language if language in LANGUAGES else "en", str(error))
    return RedirectResponse(f"/console/canned?language={language}", status_code=303)
