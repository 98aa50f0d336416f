"""Liveness, readiness and a few Prometheus counters."""

from __future__ import annotations

import asyncio
import hmac

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from bot.db.models import InboundEvent, OutboxMessage
from bot.db.session import Database

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    db: Database = request.app.state.db
    checks = {"database": await asyncio.to_thread(_database_ok, db)}
    settings = request.app.state.settings
    checks["nlu"] = await _nlu_ok(settings.RASA_URL, settings.RASA_TOKEN)
    ready = all(checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """For the scraper only: "Authorization: Bearer METRICS_TOKEN"; without a token set, 404."""
    token = request.app.state.settings.METRICS_TOKEN
    sent = request.headers.get("authorization", "")
    if not token:
        return PlainTextResponse("not found", status_code=404)
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return PlainTextResponse("unauthorized", status_code=401)
    rows = await asyncio.to_thread(_counts, request.app.state.db)
    lines = []
    for metric, table, counts in rows:
        lines.append(f"# TYPE safestep_{metric} gauge")
        lines += [f'safestep_{metric}{{table="{table}",status="{s}"}} {n}' for s, n in counts]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


def _database_ok(db: Database) -> bool:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _nlu_ok(url: str, token: str) -> bool:
    """The server answers with a loaded model (and accepts our token)."""
    params = {"token": token} if token else {}
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            answer = await client.get(f"{url.rstrip('/')}/status", params=params)
            return answer.status_code == 200 and bool(answer.json().get("model_file"))
    except (httpx.HTTPError, ValueError):
        return False


def _counts(db: Database) -> list[tuple[str, str, list[tuple[str, int]]]]:
    out = []
    with db.sessions() as session:
        for table, model in (("inbound", InboundEvent), ("outbox", OutboxMessage)):
            counts = session.execute(
                select(model.status, func.count()).group_by(model.status)
            ).all()
            out.append(("rows", table, [(s, n) for s, n in counts]))
    return out
