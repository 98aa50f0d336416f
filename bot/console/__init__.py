"""The hotline staff console (/console): server-rendered pages over the escalation cases.

`install` adds it to the app: the signed session cookie, the pages, the static files, and the
redirect to the login page for anyone not logged in.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from bot.console.auth import NotLoggedIn
from bot.console.web import HERE, render
from bot.settings import Settings

COOKIE = "safestep_console"


def install(app: FastAPI, settings: Settings) -> None:
    from bot.console.routes import router

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.SESSION_SECRET,
        session_cookie=COOKIE,
        max_age=settings.CONSOLE_SESSION_HOURS * 3600,
        path="/console",
        same_site="strict",
        https_only=settings.session_cookie_secure,
    )
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(NotLoggedIn)
    async def _login_first(request: Request, exc: NotLoggedIn) -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _refusal_page(request: Request, exc: StarletteHTTPException) -> Response:
        """Console refusals (403, 404) as a page a person can read; the rest as before."""
        if not request.url.path.startswith("/console/") or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        return render(
            request,
            "error.html",
            None,
            status_code=exc.status_code,
            code=exc.status_code,
            detail=exc.detail,
        )
