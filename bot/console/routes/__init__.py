"""Every console page under one router; each module checks its role with `require_role`."""

from fastapi import APIRouter

from bot.console.routes import cases, session, supervision

router = APIRouter(prefix="/console", tags=["console"])
router.include_router(session.router)
router.include_router(cases.router)
router.include_router(supervision.router)
