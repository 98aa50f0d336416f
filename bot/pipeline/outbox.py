"""The outbox: every reply is stored before it is sent, and sent in order per user.

A message waits while an earlier one to the same user is unsent, so a retried message never
lets the next one overtake it. Transient failures back off exponentially; permanent ones are
recorded, and a user the platform says is gone is marked unreachable.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased

from bot.channels.base import Channel, SendError, SendResult
from bot.clock import utcnow
from bot.db.models import OutboxMessage, User
from bot.db.session import Database
from bot.messages import Reply
from bot.pipeline.claims import PENDING, WORKING, claim_one, claimable
from bot.services.crypto import decrypt, encrypt

log = logging.getLogger(__name__)


# ---- encryption at rest (console security, issue 11) --------------------------------------
# Reply text is stored encrypted with DATA_KEY, like case text: a copy of the database shows
# no bot or staff reply. Rows stored before encryption (no "enc" key) still load.


def seal(payload: dict[str, Any]) -> dict[str, Any]:
    return {"enc": encrypt(json.dumps(payload, ensure_ascii=False)).decode()}


def unseal(payload: dict[str, Any]) -> dict[str, Any]:
    if "enc" not in payload:
        return payload
    loaded: dict[str, Any] = json.loads(decrypt(payload["enc"].encode()))
    return loaded


# -------------------------------------------------------------------------------------------


def enqueue(
    session: Session,
    user: User,
    replies: list[Reply],
    channel: Channel,
    *,
    tag: str | None = None,
    case_id: int | None = None,
    inbound_id: int | None = None,
) -> list[OutboxMessage]:
    """Store replies, each cut to what the channel accepts, for the sender to deliver."""
    rows = [
        OutboxMessage(
            user_id=user.id,
            channel=user.channel,
            payload=seal(piece.to_json()),
            tag=tag,
            case_id=case_id,
            inbound_id=inbound_id,
            status=PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
        )
        for reply in replies
        for piece in channel.fit(reply)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def claim(db: Database, lease_seconds: float) -> int | None:
    earlier = aliased(OutboxMessage)
    now = utcnow()
    with db.session() as session:
        blocked = exists().where(
            earlier.user_id == OutboxMessage.user_id,
            earlier.id < OutboxMessage.id,
            earlier.status.in_((PENDING, WORKING)),
        )
        candidates = (
            select(OutboxMessage.id)
            .where(claimable(OutboxMessage, now), OutboxMessage.next_attempt_at <= now, ~blocked)
            .order_by(OutboxMessage.id)
        )
        return claim_one(session, OutboxMessage, candidates, lease_seconds)


class Sender:
    def __init__(
        self,
        db: Database,
        channels: dict[str, Channel],
        *,
        max_attempts: int,
        backoff_seconds: float,
    ) -> None:
        self.db = db
        self.channels = channels
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds

    def load(self, message_id: int) -> tuple[str, str, Reply, str | None, bool] | None:
        with self.db.session() as session:
            row = session.get(OutboxMessage, message_id)
            user = session.get(User, row.user_id) if row else None
            if row is None or user is None:
                return None
            return (
                row.channel,
                user.address,
                Reply.from_json(unseal(row.payload)),
                row.tag,
                user.unreachable,
            )

    async def deliver(self, message_id: int) -> None:
        loaded = self.load(message_id)
        if loaded is None:
            return
        channel_name, address, reply, tag, unreachable = loaded
        channel = self.channels.get(channel_name)
        if unreachable or channel is None:
            reason = "user unreachable" if unreachable else f"channel {channel_name} is disabled"
            self.record_failure(message_id, SendError(reason, retryable=False))
            return
        try:
            result = await channel.send(address, reply, tag)
        except SendError as error:
            self.record_failure(message_id, error)
        else:
            self.record_success(message_id, result)

    def record_success(self, message_id: int, result: SendResult) -> None:
        with self.db.session() as session:
            row = session.get_one(OutboxMessage, message_id)
            row.status, row.sent_at, row.lease_until = "sent", utcnow(), None
            row.external_id, row.last_error = result.external_id, None

    def record_failure(self, message_id: int, error: SendError) -> None:
        with self.db.session() as session:
            row = session.get_one(OutboxMessage, message_id)
            row.last_error, row.lease_until = str(error), None
            if error.retryable and row.attempts < self.max_attempts:
                delay = self.backoff_seconds * 2 ** (row.attempts - 1)
                row.status, row.next_attempt_at = PENDING, utcnow() + timedelta(seconds=delay)
                log.warning("send %s failed (%s); retry in %.1fs", message_id, error, delay)
                return
            row.status = "failed"
            log.error("send %s failed for good: %s", message_id, error)
            if error.unreachable:
                _mark_unreachable(session, row.user_id)


def _mark_unreachable(session: Session, user_id: int) -> None:
    """The platform says this user cannot be reached: stop trying their queued messages too."""
    session.execute(update(User).where(User.id == user_id).values(unreachable=True))
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == PENDING)
        .values(status="failed", last_error="user unreachable")
    )
