"""The one small surface every channel implements (RapidPro courier style).

A channel verifies a request, parses it into neutral `Inbound` events, fits a `Reply` to its
limits, and sends it. Adding Telegram or WhatsApp means adding a module and registering it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import regex

from bot.channels.text import split
from bot.messages import Button, Inbound, Reply


class BadPayload(ValueError):
    """The body is not what the platform sends: answer 400 and store nothing."""


@dataclass(frozen=True)
class SendResult:
    external_id: str | None


class SendError(Exception):
    """A failed send. `retryable` errors go back to the outbox; others are recorded as final.

    `channel_down` means the channel itself refuses (revoked token, blocked app): no message
    can go out until an operator acts, so the channel's circuit breaker opens.
    """

    def __init__(
        self,
        detail: str,
        *,
        retryable: bool,
        unreachable: bool = False,
        channel_down: bool = False,
    ) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.unreachable = unreachable
        self.channel_down = channel_down


class Channel(Protocol):
    name: str
    text_limit: int

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool: ...

    def parse(self, body: Any) -> list[Inbound]:
        """Raise `BadPayload` for a body of the wrong shape."""
        ...

    def fit(self, reply: Reply) -> list[Reply]:
        """Split a reply into messages the platform accepts; choices stay on the last one."""
        ...

    def render(self, address: str, reply: Reply, tag: str | None = None) -> dict[str, Any]: ...

    async def send(self, address: str, reply: Reply, tag: str | None = None) -> SendResult:
        """Raise `SendError` when the platform refuses or cannot be reached."""
        ...

    def reply_deadline(
        self, last_inbound_at: datetime | None, tag: str | None, now: datetime
    ) -> datetime:
        """Until when a reply queued `now` may still go out (and is worth retrying)."""
        ...

    async def aclose(self) -> None: ...


def split_reply(
    reply: Reply, limit: int, tail_limit: int | None = None, max_buttons: int | None = None
) -> list[Reply]:
    """Split a long reply between paragraphs and lines; choices ride on the last piece, and
    each call button on the piece that shows its number.

    `tail_limit` is a tighter limit for a piece that carries buttons (a template): with
    buttons, every piece keeps to it, so a button can sit with its number wherever it is.
    """
    pieces = split(reply.text, tail_limit if (tail_limit and reply.buttons) else limit)
    if len(pieces) == 1:
        return [reply]
    placed: list[list[Button]] = [[] for _ in pieces]
    for button in reply.buttons:
        placed[_piece_showing(pieces, button)].append(button)
    out = [
        Reply(text=text, buttons=tuple(buttons[:max_buttons]), meta=reply.meta)
        for text, buttons in zip(pieces, placed, strict=True)
    ]
    out[-1] = replace(out[-1], choices=reply.choices)
    return out


def _piece_showing(pieces: list[str], button: Button) -> int:
    """The piece whose text shows the button's number (the last piece when none does)."""
    number = regex.sub(r"\D", "", button.title) or regex.sub(r"\D", "", button.value)
    if button.kind != "call" or not number:
        return len(pieces) - 1
    for index, text in enumerate(pieces):
        for line in text.splitlines():
            if number in regex.sub(r"\D", "", line):
                return index
    return len(pieces) - 1


# Ids are stored in 128 characters; a longer one is kept as its hash, which dedupes as well.
ID_LIMIT = 128


def storable_id(raw: str) -> str:
    if len(raw) <= ID_LIMIT:
        return raw
    return "sha256:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def clean_text(value: str) -> str:
    """A string as the database and the NLU can take it: lone surrogates become U+FFFD, NULs go.

    JSON may carry "\\ud800" on its own; PostgreSQL and UTF-8 encoders refuse it later, so the
    message would be acknowledged and then lost.
    """
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\x00", "")


def platform_id(value: Any, field: str) -> str:
    """An id sent by the platform: a non-empty string or integer, never an object."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"{field} must be a string or a number")
    text = clean_text(str(value))
    if not text:
        raise BadPayload(f"{field} is missing")
    return text


def timestamp_ms(value: Any) -> int | None:
    """Milliseconds since the epoch, or None for anything else (the time it arrived is used)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value < 10**14:  # before 1970 or after the year 5000: not a real timestamp
        return None
    return int(value)
