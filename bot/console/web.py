"""Rendering for the console: templates (autoescaped), navigation, headers, canned replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.clock import utcnow
from bot.console import audit, queries
from bot.console.auth import ADMIN, AGENT, LOGIN_COOKIE, SUPERVISOR, csrf_token, set_cookie
from bot.db.models import Staff
from bot.settings import Settings

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# Sensitive pages: never cached, never framed, and no script but our own file (so even text
# that escaped escaping could not run).
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class NavItem:
    title: str
    path: str
    roles: tuple[str, ...]


# One list for the whole console; a new page adds a line here.
NAV = (
    NavItem("Queue", "/console/", AGENT),
    NavItem("Report", "/console/report", SUPERVISOR),
    NavItem("Indicators", "/console/indicators", SUPERVISOR),
    NavItem("Audit log", "/console/audit", SUPERVISOR),
    NavItem("Staff", "/console/staff", ADMIN),
    NavItem("Canned replies", "/console/canned", ADMIN),
    NavItem("Account", "/console/account", AGENT),
)


def render(
    request: Request,
    template: str,
    staff: Staff | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page (or fragment) with the layout's needs filled in: CSRF token, nav, poll interval.

    Every full page a staff member sees is audited here (a case page with its case id), so no
    page can be added that escapes the log; polled fragments are not.
    """
    settings: Settings = request.app.state.settings
    nav = [item for item in NAV if staff is not None and staff.role in item.roles]
    supervising = staff is not None and staff.role in SUPERVISOR
    if supervising and "alerts" not in context:  # the banner on every page, fresh on load
        with request.app.state.db.session() as session:
            context["alerts"] = queries.open_alerts(session, utcnow())
    response = templates.TemplateResponse(
        request,
        template,
        {
            "staff": staff,
            "csrf": csrf_token(request),
            "nav": nav,
            "supervising": supervising,
            "poll_ms": int(settings.CONSOLE_POLL_SECONDS * 1000),
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(HEADERS)
    fresh = getattr(request.state, "new_login_csrf", None)
    if fresh:
        set_cookie(response, request, LOGIN_COOKIE, fresh, LOGIN_CSRF_SECONDS)
    if staff is not None and not template.startswith("_") and template != "error.html":
        case = context.get("case")
        audit.record_request(
            request.app.state.db, "view", staff.id, request, case.id if case else None
        )
    return response


LOGIN_CSRF_SECONDS = 3600


def wait_text(waiting: timedelta | None) -> str:
    """ "4 min", "2 h 05 min", "3 d 4 h": short enough for a queue column."""
    if waiting is None:
        return "–"
    minutes = int(waiting.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "–"


templates.env.filters["wait"] = wait_text
templates.env.filters["when"] = when
