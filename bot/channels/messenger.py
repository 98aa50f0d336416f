"""Facebook Messenger: the Graph API webhook and the Send API."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from bot.channels.base import BadPayload, SendError, SendResult, split_reply
from bot.channels.text import truncate
from bot.messages import Inbound, InboundKind, Reply

TEXT_LIMIT = 2000
TEMPLATE_TEXT_LIMIT = 640
MAX_QUICK_REPLIES = 13
MAX_BUTTONS = 3
TITLE_LIMIT = 20
GET_STARTED = "GET_STARTED"

# Graph API error codes: (code, subcode or None) -> (retryable, unreachable).
_RETRYABLE_CODES = {1, 2, 4, 17, 32, 613}
_UNREACHABLE = {(551, None), (10, 2018278), (100, 2018001), (200, 1545041)}


class Messenger:
    name = "messenger"
    text_limit = TEXT_LIMIT

    def __init__(self, *, app_secret: str, page_token: str, graph_url: str, timeout: float):
        self._secret = app_secret.encode()
        self._token = page_token
        self._client = httpx.AsyncClient(
            base_url=graph_url.rstrip("/"), timeout=httpx.Timeout(timeout, connect=5.0)
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
        for entry in entries:
            items = entry.get("messaging", []) if isinstance(entry, dict) else None
            if not isinstance(items, list):
                raise BadPayload("'entry[].messaging' must be a list")
            for item in items:
                event = _parse_item(item)
                if event is not None:
                    events.append(event)
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
                "/me/messages",
                params={"access_token": self._token},
                json=self.render(address, reply, tag),
            )
        except httpx.HTTPError as exc:
            raise SendError(f"network: {type(exc).__name__}", retryable=True) from exc
        if response.status_code == 200:
            return SendResult(external_id=_json(response).get("message_id"))
        raise _classify(response)

    async def aclose(self) -> None:
        await self._client.aclose()


def _parse_item(item: Any) -> Inbound | None:
    if not isinstance(item, dict) or not isinstance(item.get("sender"), dict):
        raise BadPayload("each messaging item needs a sender")
    sender = str(item["sender"].get("id", ""))
    if not sender:
        raise BadPayload("sender.id is missing")
    timestamp = item.get("timestamp")
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = message.get("mid")
        if not mid:
            raise BadPayload("message.mid is missing")
        base: dict[str, Any] = {"channel": "messenger", "external_id": str(mid), "sender": sender}
        quick = message.get("quick_reply")
        if isinstance(quick, dict) and quick.get("payload"):
            return Inbound(**base, kind="payload", payload=str(quick["payload"]))
        if isinstance(message.get("text"), str):
            return Inbound(**base, kind="text", text=message["text"], timestamp_ms=timestamp)
        attachments = message.get("attachments") or [{}]
        kind = attachments[0].get("type", "unknown") if isinstance(attachments[0], dict) else None
        if message.get("sticker_id"):
            kind = "sticker"
        return Inbound(**base, kind="attachment", attachment=str(kind or "unknown"))
    postback = item.get("postback")
    if isinstance(postback, dict):
        payload = str(postback.get("payload", ""))
        mid = postback.get("mid") or f"postback:{sender}:{timestamp}:{payload}"
        started: InboundKind = "start" if payload == GET_STARTED else "payload"
        return Inbound(
            channel="messenger", external_id=str(mid), sender=sender, kind=started, payload=payload
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
    if response.status_code >= 500 or response.status_code == 429 or code in _RETRYABLE_CODES:
        return SendError(detail, retryable=True)
    unreachable = (code, subcode) in _UNREACHABLE or (code, None) in _UNREACHABLE
    return SendError(detail, retryable=False, unreachable=unreachable)
