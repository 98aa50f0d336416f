"""Viber: the REST bot API webhook and send_message."""

from __future__ import annotations

import hashlib
import hmac
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

TEXT_LIMIT = 7000
MAX_KEYBOARD = 24  # buttons in one keyboard
TITLE_LIMIT = 20
# Keyboard taps come back as ordinary text messages; this prefix tells them from typing.
PAYLOAD_PREFIX = "#ss:"
# "Silent" buttons (the tap is not echoed into the chat as "#ss:…") need API level 6 clients.
MIN_API_VERSION = 6
EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]

_RETRYABLE_STATUS = {12}
_UNREACHABLE_STATUS = {5, 6}
# invalidAuthToken, publicAccountBlocked, publicAccountNotFound, publicAccountSuspended,
# webhookNotSet: the bot account itself cannot send, whoever the message is for.
_CHANNEL_DOWN_STATUS = {2, 7, 8, 9, 10}
# Viber has no reply window for subscribers; a reply a day late no longer answers anything.
REPLY_USEFUL_FOR = timedelta(hours=24)
_DELIVERY_EVENTS = {"delivered", "seen", "failed"}
_USER_EVENTS: dict[str, InboundKind] = {"subscribed": "subscribed", "unsubscribed": "unsubscribed"}


class Viber:
    name = "viber"
    text_limit = TEXT_LIMIT

    def __init__(
        self, *, auth_token: str, bot_name: str, api_url: str, timeout: float, avatar: str = ""
    ):
        self._token = auth_token
        self._sender = {"name": bot_name, **({"avatar": avatar} if avatar else {})}
        self._client = http_client.client(
            base_url=api_url.rstrip("/"),
            headers={"X-Viber-Auth-Token": auth_token},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )
        self._send_url = httpx.URL(f"{api_url.rstrip('/')}/send_message")  # parsed once

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        signature = headers.get("x-viber-content-signature", "")
        expected = hmac.new(self._token.encode(), body, hashlib.sha256).hexdigest()
        return bool(signature) and hmac.compare_digest(signature.lower(), expected)

    def parse(self, body: Any) -> list[Inbound]:
        if not isinstance(body, dict) or not isinstance(body.get("event"), str):
            raise BadPayload("expected an object with an 'event'")
        event = body["event"]
        if event == "webhook":
            return []
        token = storable_id(platform_id(body.get("message_token"), "message_token"))
        base: dict[str, Any] = {"channel": "viber", "external_id": token}
        if event in _DELIVERY_EVENTS:
            sender = clean_text(str(body.get("user_id", "")))
            return [Inbound(**base, kind="delivery", sender=sender, delivery=event)]
        if event == "conversation_started":
            user = _user(body.get("user"))
            return [
                Inbound(**base, kind="start", sender=user["id"], platform_language=user["language"])
            ]
        if event in _USER_EVENTS:
            if body.get("user_id") is not None:
                sender = _address(body.get("user_id"))
            else:
                sender = _user(body.get("user"))["id"]
            return [Inbound(**base, kind=_USER_EVENTS[event], sender=sender)]
        if event == "message":
            return [_parse_message(base, body)]
        return []  # client_status and future events: nothing to do

    def fit(self, reply: Reply) -> list[Reply]:
        return split_reply(reply, TEXT_LIMIT)

    def render(self, address: str | None, reply: Reply, tag: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"sender": self._sender, "type": "text", "text": reply.text}
        if address is not None:
            body["receiver"] = address
        buttons = [
            {
                "Columns": 6,
                "Rows": 1,
                "ActionType": "reply",
                "ActionBody": PAYLOAD_PREFIX + c.payload,
                "Text": truncate(c.title, TITLE_LIMIT),
                "Silent": True,
            }
            for c in reply.choices
        ] + [
            {
                "Columns": 6,
                "Rows": 1,
                "ActionType": "open-url",
                "ActionBody": b.value,
                "Text": b.title,
            }
            for b in reply.buttons
            if b.kind == "url"
        ]
        if buttons:
            keyboard = buttons[:MAX_KEYBOARD]
            body["keyboard"] = {"Type": "keyboard", "DefaultHeight": False, "Buttons": keyboard}
            body["min_api_version"] = MIN_API_VERSION
        return body

    async def send(self, address: str, reply: Reply, tag: str | None = None) -> SendResult:
        try:
            response = await self._client.post(self._send_url, json=self.render(address, reply))
        except httpx.HTTPError as exc:
            raise SendError(f"network: {type(exc).__name__}", retryable=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise SendError(f"http {response.status_code}", retryable=True)
        try:
            data = response.json()
        except ValueError:
            raise SendError(f"http {response.status_code}: not JSON", retryable=True) from None
        status = data.get("status")
        if status == 0:
            return SendResult(external_id=str(data.get("message_token")))
        detail = f"status {status}: {data.get('status_message', '')}"[:500]
        down = status in _CHANNEL_DOWN_STATUS
        raise SendError(
            detail,
            retryable=down or status in _RETRYABLE_STATUS,
            unreachable=status in _UNREACHABLE_STATUS,
            channel_down=down,
        )

    async def set_webhook(self, url: str) -> dict[str, Any]:
        response = await self._client.post(
            "/set_webhook", json={"url": url, "event_types": EVENT_TYPES, "send_name": False}
        )
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        await self._client.aclose()

    def reply_deadline(
        self, last_inbound_at: datetime | None, tag: str | None, now: datetime
    ) -> datetime:
        return now + REPLY_USEFUL_FOR


def _address(value: Any) -> str:
    address = platform_id(value, "user id")
    if len(address) > ID_LIMIT:
        raise BadPayload("user id is too long to reply to")
    return address


def _user(value: Any) -> dict[str, Any]:
    """The user object with a usable id and language (None when absent or odd)."""
    if not isinstance(value, dict):
        raise BadPayload("user.id is missing")
    language = value.get("language")
    return {
        "id": _address(value.get("id")),
        "language": clean_text(language)[:16] if isinstance(language, str) else None,
    }


def _parse_message(base: dict[str, Any], body: dict[str, Any]) -> Inbound:
    sender = _user(body.get("sender"))
    message = body.get("message")
    if not isinstance(message, dict):
        raise BadPayload("message is missing")
    common = {**base, "sender": sender["id"], "platform_language": sender["language"]}
    text = message.get("text")
    if message.get("type") == "text" and isinstance(text, str):
        text = clean_text(text)
        if text.startswith(PAYLOAD_PREFIX):
            return Inbound(**common, kind="payload", payload=text.removeprefix(PAYLOAD_PREFIX))
        stamp = timestamp_ms(body.get("timestamp"))
        return Inbound(**common, kind="text", text=text, timestamp_ms=stamp)
    kind = message.get("type")
    kind = clean_text(kind) if isinstance(kind, str) else "unknown"
    return Inbound(**common, kind="attachment", attachment=(kind or "unknown")[:32])
