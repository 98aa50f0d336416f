"""Webhooks: verify, store durably, acknowledge; everything else happens after the 200.

Plain Starlette routes, mounted under /webhooks: they need no dependency injection or
validation of FastAPI's kind (a signature is checked on the raw body), and FastAPI's routing
layers were about a quarter of an acknowledgement's CPU.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, Router

from bot.channels.base import BadPayload, Channel
from bot.dialogue.base import language_from_platform
from bot.messages import Inbound
from bot.web.intake import Intake

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail


async def messenger_verify(request: Request) -> Response:
    """Meta's subscription handshake: echo the challenge only for our verify token."""
    params = request.query_params
    token = request.app.state.settings.MESSENGER_VERIFY_TOKEN
    if params.get("hub.mode") == "subscribe" and token and params.get("hub.verify_token") == token:
        return PlainTextResponse(params.get("hub.challenge", ""))
    return PlainTextResponse("forbidden", status_code=403)


async def messenger(request: Request) -> Response:
    try:
        events = await _receive(request, "messenger")
        await _store(request, events)
    except Refused as refused:
        return PlainTextResponse(refused.detail, status_code=refused.status)
    return PlainTextResponse("EVENT_RECEIVED")


async def viber(request: Request) -> Response:
    try:
        events = await _receive(request, "viber")
        starts = [e for e in events if e.kind == "start"]
        # conversation_started is answered in the response body: Viber allows no other message
        # to someone who has not subscribed, so there is nothing to store.
        await _store(request, [e for e in events if e.kind != "start"])
    except Refused as refused:
        return PlainTextResponse(refused.detail, status_code=refused.status)
    if starts:
        return JSONResponse(_viber_welcome(request, starts[0]))
    return JSONResponse({"status": 0})


async def _receive(request: Request, name: str) -> list[Inbound]:
    channel: Channel | None = request.app.state.channels.get(name)
    if channel is None:
        raise Refused(404, f"{name} is not configured")
    body = await _read_body(request)
    if not channel.verify(request.headers, body):
        log.warning("%s webhook with a missing or wrong signature", name)
        raise Refused(403, "bad signature")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        raise Refused(400, "bad payload: not JSON we can read") from None
    try:
        return channel.parse(data)
    except BadPayload as exc:
        raise Refused(400, f"bad payload: {exc}") from None
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError):
        # JSON of a shape no platform sends: refuse it, never a 500 the platform would retry.
        log.warning("%s webhook with a body of an unexpected shape", name, exc_info=True)
        raise Refused(400, "bad payload: unexpected shape") from None


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, "body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _store(request: Request, events: list[Inbound]) -> None:
    """Commit events before answering: a 200 for something not stored would lose it."""
    if not events:
        return
    # Its own engine, threads and group commit: an acknowledgement never queues behind workers.
    intake: Intake = request.app.state.intake
    try:
        stored = await intake.store(events)
    except SQLAlchemyError:
        log.exception("could not store webhook events; asking the platform to retry")
        raise Refused(503, "storage unavailable") from None
    if stored:
        request.app.state.workers.inbound_wakeup.notify()


def _viber_welcome(request: Request, event: Inbound) -> dict[str, Any]:
    channel = request.app.state.channels["viber"]
    reply = request.app.state.dialogue.welcome(language_from_platform(event.platform_language))
    return channel.render(None, reply)


router = Router(
    routes=[
        Route("/messenger", messenger_verify, methods=["GET"]),
        Route("/messenger", messenger, methods=["POST"]),
        Route("/viber", viber, methods=["POST"]),
    ]
)
