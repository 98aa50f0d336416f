"""Facebook Messenger: the Graph API webhook and the Send API."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot import http_client
from bot.channels.base import (
    ID_LIMIT,
    BadPayload,
    SendError,
    SendResult,
    clean_text,
    platform_id,
    split_reply,
    storable_id,
    timestamp_ms,
)
from bot.channels.text import truncate
from bot.messages import Inbound, InboundKind, Reply

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000
TEMPLATE_TEXT_LIMIT = 640
MAX_QUICK_REPLIES = 13
MAX_BUTTONS = 3
TITLE_LIMIT = 20
GET_STARTED = "GET_STARTED"

# Graph API error codes: (code, subcode or None) -> (retryable, unreachable).
_RETRYABLE_CODES = {1, 2, 4, 17, 32, 613}
_UNREACHABLE = {(551, None), (10, 2018278), (100, 2018001), (200, 1545041)}
# The Page or app itself is refused (invalid or expired token, app blocked for policy): no
# message can go out until someone acts, whoever it is for.
_CHANNEL_DOWN = {190, 368}

# Messenger's standard messaging window, and the HUMAN_AGENT tag's longer one.
RESPONSE_WINDOW = timedelta(hours=24)
TAG_WINDOWS = {"HUMAN_AGENT": timedelta(days=7)}


class Messenger:
    name = "messenger"
    text_limit = TEXT_LIMIT

    def __init__(self, *, app_secret: str, page_token: str, graph_url: str, timeout: float):
        self._secret = app_secret.encode()
        self._client = http_client.client(
            base_url=graph_url.rstrip("/"), timeout=httpx.Timeout(timeout, connect=5.0)
        )
        # Parsed once: httpx parsing it on every send was a quarter of the send's CPU.
        self._send_url = httpx.URL(
            f"{graph_url.rstrip('/')}/me/messages", params={"access_token": page_token}
        )

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        signature = headers.get("x-hub-signature-256", "")
        if not signature.startswith("sha256="):
            return False
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature.removeprefix("sha256="), expected)

    def parse(self, body: Any) -> list[Inbound]:
        if not isinstance(body, dict) or body.get("object") != "page":
            raise BadPayload("expected an object of type 'page'")
        entries = body.get("entry")
        if not isinstance(entries, list):
            raise BadPayload("'entry' must be a list")
        events: list[Inbound] = []
        rejected: list[str] = []
        for number, entry in enumerate(entries):
            items = entry.get("messaging", []) if isinstance(entry, dict) else None
            if not isinstance(items, list):
                rejected.append(f"entry {number}: 'messaging' must be a list")
                continue
            for index, item in enumerate(items):
                try:
                    event = _parse_item(item)
                except BadPayload as exc:
                    rejected.append(f"entry {number} item {index}: {exc}")
                    continue
                if event is not None:
                    events.append(event)
        if rejected:
            # The good items are kept and acknowledged; Meta would resend the whole batch.
            log.warning("messenger batch: %d item(s) dropped: %s", len(rejected), rejected[:5])
            if not events:
                raise BadPayload("; ".join(rejected[:3]))
        return events

    def fit(self, reply: Reply) -> list[Reply]:
        return split_reply(reply, TEXT_LIMIT, TEMPLATE_TEXT_LIMIT, MAX_BUTTONS)

    def render(self, address: str, reply: Reply, tag: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"text": reply.text}
        rendered = (_button(b.title, b.kind, b.value) for b in reply.buttons)
        buttons = [b for b in rendered if b is not None][:MAX_BUTTONS]
        if buttons:
            message = {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "button", "text": reply.text, "buttons": buttons},
                }
            }
        if reply.choices:
            message["quick_replies"] = [
                {
                    "content_type": "text",
                    "title": truncate(c.title, TITLE_LIMIT),
                    "payload": c.payload,
                }
                for c in reply.choices[:MAX_QUICK_REPLIES]
            ]
        body: dict[str, Any] = {"recipient": {"id": address}, "message": message}
        if tag:
            body.update(messaging_type="MESSAGE_TAG", tag=tag)
        else:
            body["messaging_type"] = "RESPONSE"
        return body

    async def send(self, address: str, reply: Reply, tag: str | None = None) -> SendResult:
        try:
            response = await self._client.post(
                self._send_url, json=self.render(address, reply, tag)
            )
        except httpx.HTTPError as exc:
            raise SendError(f"network: {type(exc).__name__}", retryable=True) from exc
        if response.status_code == 200:
            return SendResult(external_id=_json(response).get("message_id"))
        raise _classify(response)

    async def aclose(self) -> None:
        await self._client.aclose()

    def reply_deadline(
        self, last_inbound_at: datetime | None, tag: str | None, now: datetime
    ) -> datetime:
        return (last_inbound_at or now) + TAG_WINDOWS.get(tag or "", RESPONSE_WINDOW)


def _parse_item(item: Any) -> Inbound | None:
    """One messaging item; `BadPayload` for one that can never be answered."""
    if not isinstance(item, dict) or not isinstance(item.get("sender"), dict):
        raise BadPayload("each messaging item needs a sender")
    sender = platform_id(item["sender"].get("id"), "sender.id")
    if len(sender) > ID_LIMIT:
        raise BadPayload("sender.id is too long to reply to")
    timestamp = timestamp_ms(item.get("timestamp"))
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = storable_id(platform_id(message.get("mid"), "message.mid"))
        base: dict[str, Any] = {"channel": "messenger", "external_id": mid, "sender": sender}
        quick = message.get("quick_reply")
        if isinstance(quick, dict) and isinstance(quick.get("payload"), str) and quick["payload"]:
            return Inbound(**base, kind="payload", payload=clean_text(quick["payload"]))
        if isinstance(message.get("text"), str):
            text = clean_text(message["text"])
            return Inbound(**base, kind="text", text=text, timestamp_ms=timestamp)
        attachments = message.get("attachments")
        first = attachments[0] if isinstance(attachments, list) and attachments else {}
        kind = first.get("type") if isinstance(first, dict) else None
        if message.get("sticker_id"):
            kind = "sticker"
        kind = clean_text(kind) if isinstance(kind, str) else "unknown"
        return Inbound(**base, kind="attachment", attachment=(kind or "unknown")[:32])
    postback = item.get("postback")
    if isinstance(postback, dict):
        raw = postback.get("payload", "")
        payload = clean_text(raw if isinstance(raw, str) else str(raw)) or ""
        mid = postback.get("mid") or f"postback:{sender}:{timestamp}:{payload}"
        started: InboundKind = "start" if payload == GET_STARTED else "payload"
        return Inbound(
            channel="messenger",
            external_id=storable_id(platform_id(mid, "postback.mid")),
            sender=sender,
            kind=started,
            payload=payload,
        )
    return None  # delivery, read, reactions, optins: nothing to answer


def _button(title: str, kind: str, value: str) -> dict[str, str] | None:
    title = truncate(title, TITLE_LIMIT)
    if kind == "call":
        # The Send API only dials numbers in international format; short codes stay in the text.
        return (
            {"type": "phone_number", "title": title, "payload": value}
            if value.startswith("+")
            else None
        )
    if kind == "url":
        return {"type": "web_url", "title": title, "url": value}
    return {"type": "postback", "title": title, "payload": value}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _classify(response: httpx.Response) -> SendError:
    error = _json(response).get("error") or {}
    code, subcode = error.get("code"), error.get("error_subcode")
    detail = f"http {response.status_code} code {code}/{subcode}: {error.get('message', '')}"[:500]
    if code in _CHANNEL_DOWN:
        return SendError(detail, retryable=True, channel_down=True)
    if response.status_code >= 500 or response.status_code == 429 or code in _RETRYABLE_CODES:
        return SendError(detail, retryable=True)
    unreachable = (code, subcode) in _UNREACHABLE or (code, None) in _UNREACHABLE
    return SendError(detail, retryable=False, unreachable=unreachable)
