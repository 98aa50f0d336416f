"""The hotline staff console (/console): server-rendered pages over the escalation cases.

`install` adds it to the app: the pages, the static files, the redirect to the login page for
anyone not logged in and to the next login step (code, enrolment, new password) for a login
not finished.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.console.auth import NextStep, NotLoggedIn
from bot.console.web import HERE, render
from bot.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    from bot.console.routes import router

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(NotLoggedIn)
    async def _login_first(request: Request, exc: NotLoggedIn) -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(NextStep)
    async def _next_step(request: Request, exc: NextStep) -> RedirectResponse:
        return RedirectResponse(exc.location, status_code=303)

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
