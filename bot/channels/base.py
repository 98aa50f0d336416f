"""The one small surface every channel implements (RapidPro courier style).

A channel verifies a request, parses it into neutral `Inbound` events, fits a `Reply` to its
limits, and sends it. Adding Telegram or WhatsApp means adding a module and registering it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    """A failed send. `retryable` errors go back to the outbox; others are recorded as final."""

    def __init__(self, detail: str, *, retryable: bool, unreachable: bool = False) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.unreachable = unreachable


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
