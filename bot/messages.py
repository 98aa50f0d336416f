"""Channel-neutral messages: what the webhooks parse into and what the dialogue answers with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

InboundKind = Literal[
    "text", "payload", "attachment", "start", "subscribed", "unsubscribed", "delivery"
]


@dataclass(frozen=True)
class Inbound:
    """One user event from any channel, as stored in `inbound_events.payload`."""

    channel: str
    external_id: str
    kind: InboundKind
    sender: str
    text: str | None = None
    payload: str | None = None
    attachment: str | None = None
    platform_language: str | None = None
    delivery: str | None = None
    timestamp_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        # Every field is a plain value: `asdict`'s recursive copy was 3% of a webhook's CPU.
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inbound:
        return cls(**data)


@dataclass(frozen=True)
class Choice:
    """A tap-able answer (quick reply / keyboard button): its payload needs no NLU."""

    title: str
    payload: str


@dataclass(frozen=True)
class Button:
    """A button under a message: `call` dials `value`, `url` opens it, `postback` sends it."""

    title: str
    kind: Literal["postback", "call", "url"]
    value: str


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    buttons: tuple[Button, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.choices:
            data["choices"] = [asdict(c) for c in self.choices]
        if self.buttons:
            data["buttons"] = [asdict(b) for b in self.buttons]
        if self.meta:
            data["meta"] = self.meta
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=data["text"],
            choices=tuple(Choice(**c) for c in data.get("choices", ())),
            buttons=tuple(Button(**b) for b in data.get("buttons", ())),
            meta=data.get("meta", {}),
        )
