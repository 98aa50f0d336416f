"""The one small surface every channel implements (RapidPro courier style).

A channel verifies a request, parses it into neutral `Inbound` events, fits a `Reply` to its
limits, and sends it. Adding Telegram or WhatsApp means adding a module and registering it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.channels.text import split
from bot.messages import Inbound, Reply


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


def split_reply(reply: Reply, limit: int, tail_limit: int | None = None) -> list[Reply]:
    """Split a long reply at sentence ends; choices and buttons ride on the last piece.

    `tail_limit` is a tighter limit for a last piece that carries buttons (a template).
    """
    tail = tail_limit if (tail_limit and reply.buttons) else limit
    pieces = split(reply.text, limit)
    if len(pieces[-1]) > tail:
        pieces[-1:] = split(pieces[-1], tail)
    if len(pieces) == 1:
        return [reply]
    head = [Reply(text=p, meta=reply.meta) for p in pieces[:-1]]
    return [*head, replace(reply, text=pieces[-1])]
