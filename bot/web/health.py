"""Liveness, readiness and a few Prometheus counters."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from bot.clock import utcnow
from bot.db.models import ChannelBreaker, InboundEvent, OutboxMessage
from bot.db.session import Database
from bot.pipeline.claims import PENDING, WORKING
from bot.pipeline.worker import Workers

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """Ready when the database and NLU answer and no work is stuck.

    Stuck: a worker loop of this process stopped beating, or the oldest waiting inbound event
    or due reply is older than READY_MAX_BACKLOG_SECONDS (whichever process should take it).
    Open channel breakers are reported too.
    """
    db: Database = request.app.state.db
    settings = request.app.state.settings
    checks = {"database": await asyncio.to_thread(_database_ok, db)}
    checks["nlu"] = await _nlu_ok(settings.RASA_URL, settings.RASA_TOKEN)
    work = await asyncio.to_thread(_work, db) if checks["database"] else {}
    workers: Workers = request.app.state.workers
    work["stalled_loops"] = workers.supervisor.stalled() if workers.running else []
    limit = settings.READY_MAX_BACKLOG_SECONDS
    ages = (work.get("oldest_inbound_seconds"), work.get("oldest_outbox_seconds"))
    work["stuck"] = bool(work["stalled_loops"]) or any(a is not None and a > limit for a in ages)
    # A web-only process reports stuck work but stays in the load balancer: taking webhooks
    # down would not get the workers going again.
    ready = all(checks.values()) and not (work["stuck"] and workers.running)
    return JSONResponse({"ready": ready, **checks, "work": work}, status_code=200 if ready else 503)


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


def _work(db: Database) -> dict[str, Any]:
    """Ages of the oldest unfinished event and the oldest overdue reply; open breakers."""
    now = utcnow()
    with db.sessions() as session:
        received = session.scalar(
            select(func.min(InboundEvent.received_at)).where(
                InboundEvent.status.in_((PENDING, WORKING))
            )
        )
        due = session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status.in_((PENDING, WORKING)), OutboxMessage.next_attempt_at <= now
            )
        )
        breakers = session.scalars(select(ChannelBreaker)).all()
    return {
        "oldest_inbound_seconds": _age(received, now),
        "oldest_outbox_seconds": _age(due, now),
        "open_breakers": {b.channel: b.error for b in breakers},
    }


def _age(then: datetime | None, now: datetime) -> float | None:
    if then is None:
        return None
    if then.tzinfo is None:  # SQLite's MIN() bypasses the column type
        then = then.replace(tzinfo=UTC)
    return round((now - then).total_seconds(), 1)
