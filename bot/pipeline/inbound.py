"""Inbound events: stored before the webhook answers, handled afterwards, exactly once."""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from bot.channels.base import Channel
from bot.clock import utcnow
from bot.db.models import InboundEvent, OutboxMessage, User
from bot.db.session import Database
from bot.dialogue.base import Dialogue, Turn
from bot.messages import Inbound
from bot.pipeline import effects, outbox
from bot.pipeline.claims import PENDING, WORKING, claim_one, claimable
from bot.understanding.base import Parse, Understanding

log = logging.getLogger(__name__)

SHARDS = 64
_DIALOGUE_KINDS = {"text", "payload", "attachment", "start", "subscribed"}


def shard_of(channel: str, sender: str) -> int:
    """Events of one user share a shard; a shard's events are handled one at a time, in order."""
    return zlib.crc32(f"{channel}:{sender}".encode()) % SHARDS


def store(session: Session, events: list[Inbound]) -> int:
    """Insert events, ignoring ones already stored (Meta and Viber redeliver). Returns new rows.

    The unique constraint on (channel, external_id) decides, so two racing deliveries of the
    same event store it once.
    """
    rows = [
        {
            "channel": e.channel,
            "external_id": e.external_id,
            "kind": e.kind,
            "shard": shard_of(e.channel, e.sender),
            "payload": e.to_json(),
            "status": PENDING,
            "attempts": 0,
            "received_at": utcnow(),
        }
        for e in events
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(InboundEvent).on_conflict_do_nothing(index_elements=["channel", "external_id"])
    connection = session.connection()
    return sum(connection.execute(stmt, row).rowcount for row in rows)


def record_delivery(session: Session, event: Inbound) -> None:
    """A platform receipt for one of our messages: record it on the outbox row."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == event.channel, OutboxMessage.external_id == event.external_id
        )
        .values(delivery=event.delivery)
    )


def claim(db: Database, shards: list[int], lease_seconds: float) -> int | None:
    """The oldest unfinished event of a shard, unless an earlier one is still in hand.

    That keeps each user's messages in order even with several processes claiming.
    """
    earlier = aliased(InboundEvent)
    with db.session() as session:
        blocked = exists().where(
            earlier.shard == InboundEvent.shard,
            earlier.id < InboundEvent.id,
            earlier.status.in_((PENDING, WORKING)),
        )
        candidates = (
            select(InboundEvent.id)
            .where(claimable(InboundEvent, utcnow()), InboundEvent.shard.in_(shards), ~blocked)
            .order_by(InboundEvent.id)
        )
        return claim_one(session, InboundEvent, candidates, lease_seconds)


class Handler:
    """Turns one stored event into state changes and outbox rows, in one transaction."""

    def __init__(
        self,
        db: Database,
        understanding: Understanding,
        dialogue: Dialogue,
        channels: dict[str, Channel],
        max_attempts: int = 5,
    ) -> None:
        self.db = db
        self.understanding = understanding
        self.dialogue = dialogue
        self.channels = channels
        self.max_attempts = max_attempts

    def load(self, event_id: int) -> Inbound | None:
        with self.db.session() as session:
            row = session.get(InboundEvent, event_id)
            return Inbound.from_json(row.payload) if row and row.payload else None

    async def understand(self, event: Inbound) -> Parse | None:
        if event.kind != "text" or not event.text:
            return None
        return await self.understanding.parse(event.text)

    def apply(self, event_id: int, event: Inbound, parse: Parse | None) -> int:
        """Run the dialogue and store its replies; returns how many outbox rows were written."""
        with self.db.session() as session:
            user = _user_for(session, event)
            written = 0
            if event.kind in _DIALOGUE_KINDS:
                turn = Turn(
                    kind=event.kind,
                    received_at=_received_at(event),
                    text=event.text,
                    payload=event.payload,
                    attachment=event.attachment,
                    parse=parse,
                )
                response = self.dialogue.respond(session, user, turn)
                effects.apply(session, response.effects)
                channel = self.channels.get(event.channel)
                if channel is not None and response.replies:
                    written = len(
                        outbox.enqueue(
                            session, user, response.replies, channel, inbound_id=event_id
                        )
                    )
            row = session.get_one(InboundEvent, event_id)
            row.status, row.payload, row.processed_at, row.lease_until = (
                "done",
                None,
                utcnow(),
                None,
            )
            return written

    def fail(self, event_id: int, error: str) -> None:
        """Give the event back for another try, or park it after too many."""
        with self.db.session() as session:
            row = session.get_one(InboundEvent, event_id)
            row.error = error[:1000]
            row.lease_until = None
            row.status = "failed" if row.attempts >= self.max_attempts else PENDING
            if row.status == "failed":
                log.error("inbound event %s failed for good: %s", event_id, error[:200])


def _user_for(session: Session, event: Inbound) -> User:
    user = session.scalars(
        select(User).where(User.channel == event.channel, User.address == event.sender)
    ).one_or_none()
    if user is None:
        user = User(channel=event.channel, address=event.sender)
        session.add(user)
    if event.platform_language:
        user.platform_language = event.platform_language
    if event.kind == "unsubscribed":
        user.opted_out = user.unreachable = True
    elif event.kind != "start":
        # Writing again (or resubscribing) is the only way back in after a stop or a block.
        user.opted_out = user.unreachable = False
        # When the person wrote, not when a worker got to it: Messenger's 24-hour and 7-day
        # reply windows count from the message, and a backlog must not stretch them.
        sent_at = _received_at(event)
        if user.last_inbound_at is None or sent_at > user.last_inbound_at:
            user.last_inbound_at = sent_at
    session.flush()
    return user


def _received_at(event: Inbound) -> datetime:
    if event.timestamp_ms:
        return datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
    return utcnow()
