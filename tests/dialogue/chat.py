"""A chat with the real engine on a real database, one transaction per turn (as the pipeline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.clock import utcnow
from bot.db.models import User
from bot.db.session import Database
from bot.dialogue.base import Turn
from bot.dialogue.engine import Engine
from bot.messages import Reply
from bot.pipeline import effects
from bot.understanding.base import Entity, Parse
from bot.vocabulary import Indicator, Risk


def parse(
    text: str,
    intent: str = "out_of_scope",
    confidence: float = 0.95,
    *,
    lang: str | None = None,
    urgent: bool = False,
    entities: dict[str, str] | None = None,
    ranking: tuple[tuple[str, float], ...] = (),
    normalized: str | None = None,
    was_zawgyi: bool = False,
    risk: Risk = Risk.NONE,
    indicators: tuple[Indicator, ...] = (),
) -> Parse:
    """A hand-built NLU result, as the Rasa server and safety net would produce it."""
    return Parse(
        text=text,
        normalized=normalized if normalized is not None else text,
        lang=lang,
        intent=intent,
        confidence=confidence,
        urgent=urgent,
        entities=tuple(Entity(k, v) for k, v in (entities or {}).items()),
        ranking=ranking or ((intent, confidence),),
        was_zawgyi=was_zawgyi,
        risk=risk,
        indicators=indicators,
    )


@dataclass
class Chat:
    db: Database
    engine: Engine
    address: str = "U1"
    channel: str = "messenger"
    clock: datetime = field(default_factory=utcnow)
    platform_language: str | None = None

    def _turn(self, turn: Turn) -> list[Reply]:
        with self.db.session() as session:
            user = session.scalars(
                select(User).where(User.channel == self.channel, User.address == self.address)
            ).one_or_none()
            if user is None:
                user = User(
                    channel=self.channel,
                    address=self.address,
                    platform_language=self.platform_language,
                )
                session.add(user)
            if turn.kind != "start":  # as the pipeline: writing again lifts an opt-out
                user.opted_out = False
            session.flush()
            response = self.engine.respond(session, user, turn)
            effects.apply(session, user, response)
            return response.replies

    def say(
        self, text: str, intent: str = "out_of_scope", confidence: float = 0.95, **kw
    ) -> list[Reply]:  # type: ignore[no-untyped-def]
        p = parse(text, intent, confidence, **kw)
        return self._turn(Turn(kind="text", received_at=self.clock, text=text, parse=p))

    def tap(self, payload: str) -> list[Reply]:
        return self._turn(Turn(kind="payload", received_at=self.clock, payload=payload))

    def start(self) -> list[Reply]:
        return self._turn(Turn(kind="start", received_at=self.clock))

    def send_image(self) -> list[Reply]:
        return self._turn(Turn(kind="attachment", received_at=self.clock, attachment="image"))

    def wait(self, minutes: float) -> None:
        self.clock += timedelta(minutes=minutes)

    def user(self) -> User:
        with self.db.sessions() as session:
            return session.scalars(
                select(User).where(User.channel == self.channel, User.address == self.address)
            ).one()


def texts(replies: list[Reply]) -> str:
    return "\n---\n".join(r.text for r in replies)


def payloads(replies: list[Reply]) -> list[str]:
    return [c.payload for r in replies for c in r.choices]
