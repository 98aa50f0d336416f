"""The outbox: every reply is stored before it is sent, and sent in order per user.

A message waits while an earlier one to the same user is unsent, so a retried message never
lets the next one overtake it; when one fails for good, the later ones queued behind it fail
with it (and `safestep outbox retry --failed` sends them again, in order). Transient failures
back off exponentially for as long as the reply is still useful: until the channel's reply
window closes. A channel-level refusal (a revoked token, a blocked app) opens the channel's
circuit breaker: its replies stay pending until it works again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, exists, insert, not_, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.channels.base import Channel, SendError, SendResult, storable_id
from bot.clock import utcnow
from bot.db import riders
from bot.db.models import ChannelBreaker, OutboxMessage, User
from bot.db.session import Database, insert_for, rowcount
from bot.messages import Reply
from bot.pipeline import wakeups
from bot.pipeline.claims import (
    PENDING,
    WORKING,
    Claim,
    claim_batch,
    claimable,
    held_row,
    is_database_outage,
    now_param,
    renew,
    settle,
    unfinished,
)
from bot.services.crypto import decrypt, encrypt

log = logging.getLogger(__name__)
FAILED = "failed"
RETRY_FOR = timedelta(hours=24)


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


@dataclass(frozen=True)
class Enqueued:
    """Stored replies (not attached to the session), and the first one when it was stored
    claimed by its writer, ready to send."""

    rows: list[OutboxMessage]
    first: Claimed | None = None


def enqueue(
    session: Session,
    user: User,
    replies: list[Reply],
    channel: Channel,
    *,
    tag: str | None = None,
    case_id: int | None = None,
    inbound_id: int | None = None,
    notify: bool = True,
    claim_lease: float | None = None,
) -> Enqueued:
    """Store replies, each cut to what the channel accepts, for the sender to deliver.

    `notify=False`: the caller wakes the outbox loops itself, if there is anything to claim.
    `claim_lease`: the first row is stored already claimed for that long if it is next in line
    (see `_insert_first`), for the caller to send after the commit (`Enqueued.first`).
    """
    now = utcnow()
    expires_at = channel.reply_deadline(user.last_inbound_at, tag, now)
    pieces = [piece for reply in replies for piece in channel.fit(reply)]
    values: list[dict[str, Any]] = [
        {
            "user_id": user.id,
            "channel": user.channel,
            "payload": seal(piece.to_json()),
            "tag": tag,
            "case_id": case_id,
            "inbound_id": inbound_id,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "lease_until": None,
            "claim_token": None,
            "expires_at": expires_at,
            "created_at": now,
        }
        for piece in pieces
    ]
    if not values:
        return Enqueued([])
    ids: list[int] = []
    first: Claimed | None = None
    if claim_lease is not None and not user.unreachable and not _expired(expires_at, now):
        token = secrets.token_hex(16)
        lease = {"claim_lease": now + timedelta(seconds=claim_lease), "claim_token": token}
        id_, status = session.execute(_insert_first(), values[0] | lease).one()
        if status == WORKING:
            values[0].update(status=WORKING, claim_token=token, attempts=1)
            values[0]["lease_until"] = lease["claim_lease"]
            # The reply in hand, not its sealed copy decrypted and parsed again (2% of a
            # worker's CPU, py-spy).
            loaded = _Loaded(user.channel, user.address, pieces[0], tag, False, False)
            first = Claimed(Claim(id_, token), loaded, time.monotonic(), claim_lease)
        ids.append(id_)
    # Plain INSERTs, not the session's unit of work: the rows are only read back for their ids.
    if values[len(ids) :]:
        ids += session.scalars(_insert_rows(), values[len(ids) :]).all()
    if notify:
        wakeups.notify(session, wakeups.OUTBOX)
    rows = [OutboxMessage(id=id_, **row) for id_, row in zip(ids, values, strict=True)]
    return Enqueued(rows, first)


@cache
def _insert_rows() -> Any:
    """Built once, given its rows as parameters (a Core INSERT: no ORM bulk path)."""
    table = cast(Table, OutboxMessage.__table__)
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


# What `enqueue` gives every row, and what `_insert_first` decides for its row.
_GIVEN = (
    *("user_id", "channel", "payload", "tag", "case_id", "inbound_id"),
    *("next_attempt_at", "expires_at", "created_at"),
)


@cache
def _insert_first() -> Any:
    """Insert a reply claimed by its writer when it is next in line, in one statement.

    Next in line: nothing of the user's unsent, and the channel's breaker closed. Then the
    turn sends it after its commit, without a claim round. Nobody else can see the row before
    the commit, so the claim needs no race check; from the commit on it is leased like any
    claimed row, and a worker that dies before sending leaves it to the outbox loop. Returns
    the row's id and status.
    """
    table = cast(Table, OutboxMessage.__table__)
    rows = table.c
    unsent = exists().where(rows.user_id == bindparam("user_id"), unfinished(rows.status))
    breaker = cast(Table, ChannelBreaker.__table__).c
    broken = exists().where(
        breaker.channel == bindparam("channel"), breaker.retry_at > bindparam("created_at")
    )
    line = select(not_(or_(unsent, broken)).label("next")).subquery("line")

    def claimed(value: Any, otherwise: Any) -> Any:
        return case((line.c.next, value), else_=otherwise)

    given = {name: bindparam(name, type_=rows[name].type) for name in _GIVEN}
    chosen = {
        "status": claimed(WORKING, PENDING),
        "attempts": claimed(1, 0),
        "lease_until": claimed(bindparam("claim_lease", type_=rows.lease_until.type), None),
        "claim_token": claimed(bindparam("claim_token", type_=rows.claim_token.type), None),
    }
    picked = select(*given.values(), *chosen.values()).select_from(line)
    return (
        insert(table)
        .from_select([*given, *chosen], picked)
        .returning(rows.id, rows.status)
        .execution_options(**{riders.CARRIES_WRITES: True})  # it reads only the outbox
    )


@cache
def _mark_sent() -> Any:
    """Mark the row a claim holds sent; returns whether its channel's breaker is open."""
    rows = cast(Table, OutboxMessage.__table__).c
    breaker = cast(Table, ChannelBreaker.__table__).c
    return (
        held_row(OutboxMessage)
        .values(
            status="sent",
            sent_at=bindparam("sent_at"),
            lease_until=None,
            external_id=bindparam("external_id"),
            last_error=None,
        )
        .returning(exists().where(breaker.channel == rows.channel))
    )


@cache
def _close_breaker() -> Any:
    """Delete channel `:broken`'s breaker (built once: every batch of sends runs it)."""
    table = cast(Table, ChannelBreaker.__table__)
    return delete(table).where(table.c.channel == bindparam("broken"))


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    """Past the reply window (Messenger's 24 hours or 7 days, or a retry's extra day)."""
    return expires_at is not None and expires_at <= now


@cache
def _candidates() -> Any:
    """Due messages of users with nothing earlier in hand, on working channels, oldest first.

    At most one per user can qualify (a second one waits for the first), so a batch of them
    never holds two messages of one user.
    """
    now = now_param()
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        earlier.user_id == OutboxMessage.user_id,
        earlier.id < OutboxMessage.id,
        unfinished(earlier.status),
    )
    broken = exists().where(
        ChannelBreaker.channel == OutboxMessage.channel, ChannelBreaker.retry_at > now
    )
    return (
        select(OutboxMessage.id)
        .where(
            claimable(OutboxMessage, now),
            OutboxMessage.next_attempt_at <= now,
            ~blocked,
            ~broken,
        )
        .order_by(OutboxMessage.id)
    )


def claim(db: Database, lease_seconds: float) -> Claim | None:
    """The next due message of a user with nothing earlier in hand, on a working channel."""
    taken = claim_many(db, lease_seconds, 1)
    return taken[0].claim if taken else None


def claim_many(db: Database, lease_seconds: float, limit: int) -> list[Claimed]:
    """Up to `limit` due messages (one per user at most) with what sending them needs: no
    separate load, and no renewal unless the send starts late."""
    with db.autocommit() as connection:
        now = utcnow()
        taken = claim_batch(
            connection,
            OutboxMessage,
            _candidates(),
            lease_seconds,
            limit,
            OutboxMessage.user_id,
            OutboxMessage.channel,
            OutboxMessage.payload,
            OutboxMessage.tag,
            OutboxMessage.expires_at,
        )
        if not taken:
            return []
        user_ids = {row[0] for _, row in taken}
        users = {
            u.id: (u.address, u.unreachable)
            for u in connection.execute(
                select(User.id, User.address, User.unreachable).where(User.id.in_(user_ids))
            )
        }
        at = time.monotonic()
        claimed = []
        for claim_, (user_id, channel, payload, tag, expires_at) in taken:
            address, unreachable = users.get(user_id, ("", True))
            expired = _expired(expires_at, now)
            reply = Reply.from_json(unseal(payload))
            loaded = _Loaded(channel, address, reply, tag, unreachable, expired)
            claimed.append(Claimed(claim_, loaded, at, lease_seconds))
        return claimed


def retry_failed(session: Session, since: date | None = None) -> int:
    """Give failed replies (to users still reachable) back to the sender, oldest first."""
    now = utcnow()
    reachable = select(User.id).where(User.unreachable.is_(False), User.opted_out.is_(False))
    query = (
        update(OutboxMessage)
        .where(OutboxMessage.status == FAILED, OutboxMessage.user_id.in_(reachable))
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            claim_token=None,
            # An operator's decision to send late: a day more of tries (the platform still
            # refuses what its rules forbid, and that failure is final).
            expires_at=now + RETRY_FOR,
        )
    )
    if since is not None:
        start = datetime(since.year, since.month, since.day, tzinfo=now.tzinfo)
        query = query.where(OutboxMessage.created_at >= start)
    return rowcount(session.execute(query))


@dataclass
class RateLimit:
    """A token bucket per channel: at most `per_second` sends from this process, with bursts.

    Messenger allows 300 Send API calls a second per Page for text; divide the channel's limit
    by the number of worker processes.
    """

    per_second: float
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = self.clock()
        slot = max(now, self._next.get(channel, now))
        self._next[channel] = slot + 1 / self.per_second
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(frozen=True)
class _Loaded:
    channel: str
    address: str
    reply: Reply
    tag: str | None
    unreachable: bool
    expired: bool


@dataclass(frozen=True)
class Claimed:
    """A claimed message with its content, and when (monotonic clock) and for how long."""

    claim: Claim
    loaded: _Loaded
    at: float
    lease_seconds: float

    def lease_half_gone(self) -> bool:
        """Past half its lease, the claim is renewed (and checked) before sending."""
        return time.monotonic() - self.at > self.lease_seconds / 2


class Sender:
    def __init__(
        self,
        db: Database,
        channels: dict[str, Channel],
        *,
        backoff_seconds: float,
        max_backoff_seconds: float = 300.0,
        lease_seconds: float = 60.0,
        breaker_seconds: float = 30.0,
        max_breaker_seconds: float = 600.0,
        rate: RateLimit | None = None,
    ) -> None:
        self.db = db
        self.channels = channels
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.lease_seconds = lease_seconds
        self.breaker_seconds = breaker_seconds
        self.max_breaker_seconds = max_breaker_seconds
        self.rate = rate or RateLimit(per_second=250)
        self._sent: list[tuple[Claim, str, SendResult, asyncio.Future[None]]] = []
        self._recording = False
        self._recorder: asyncio.Task[None] | None = None

    def load(self, claim: Claim) -> _Loaded | None:
        with self.db.session() as session:
            row = session.get(OutboxMessage, claim.id)
            user = session.get(User, row.user_id) if row else None
            if row is None or user is None or row.claim_token != claim.token:
                return None
            expired = _expired(row.expires_at, utcnow())
            return _Loaded(
                row.channel,
                user.address,
                Reply.from_json(unseal(row.payload)),
                row.tag,
                user.unreachable,
                expired,
            )

    def _channel_for(self, loaded: _Loaded) -> Channel | str:
        """The channel to send on, or why the message can never go out."""
        if loaded.unreachable:
            return "user unreachable"
        if loaded.expired:
            return "the reply window closed"
        return self.channels.get(loaded.channel) or f"channel {loaded.channel} is disabled"

    async def _prepare(self, claim: Claim) -> tuple[Channel, _Loaded] | None:
        """Load the message and renew the lease; None when there is nothing to send."""
        loaded = await self.db.run(self.load, claim)
        if loaded is None:
            log.warning("outbox message %s: claim lost before sending", claim.id)
            return None
        channel = self._channel_for(loaded)
        if isinstance(channel, str):  # why it can never go out
            await self._record_failure(claim, SendError(channel, retryable=False))
            return None
        await self.rate.wait(loaded.channel)
        # The last point of no return: only the worker that still holds the row sends it, and
        # the send (bounded by the HTTP timeout) ends well inside the renewed lease.
        if not await self.db.run(self._renew, claim):
            log.warning("outbox message %s: lease lost to another worker; not sending", claim.id)
            return None
        return channel, loaded

    async def _release(self, claim: Claim) -> None:
        def release() -> None:
            with self.db.session() as session:
                attempts = OutboxMessage.__table__.c.attempts - 1
                values = {"lease_until": None, "attempts": attempts}
                settle(session, OutboxMessage, claim, status=PENDING, **values)

        try:
            await self.db.run(release)
        except Exception:
            log.warning("could not give outbox message %s back; its lease will expire", claim.id)

    async def deliver(self, claim: Claim) -> None:
        try:
            ready = await self._prepare(claim)
        except Exception:
            await self._release(claim)  # nothing went out: give it back now, not at lease end
            raise
        if ready is None:
            return
        channel, loaded = ready
        await self._send(claim, channel, loaded)

    async def deliver_claimed(self, claimed: Claimed) -> bool:
        """Send a message claimed together with its content (in a turn's commit or a batch):
        no load, and a renewal only when half the lease went by before the send starts.

        True when it went out and was recorded; False when it was not sent (failed, refused,
        or the claim lost), so a later message of the user may be affected.
        """
        claim, loaded = claimed.claim, claimed.loaded
        channel = self._channel_for(loaded)
        if isinstance(channel, str):  # why it can never go out
            await self._record_failure(claim, SendError(channel, retryable=False))
            return False
        await self.rate.wait(loaded.channel)
        if claimed.lease_half_gone():
            try:
                kept = await self.db.run(self._renew, claim)
            except Exception:
                await self._release(claim)
                raise
            if not kept:
                log.warning("outbox message %s: lease lost; not sending", claim.id)
                return False
        return await self._send(claim, channel, loaded)

    async def _send(self, claim: Claim, channel: Channel, loaded: _Loaded) -> bool:
        try:
            result = await channel.send(loaded.address, loaded.reply, loaded.tag)
        except SendError as error:
            await self._record_failure(claim, error)
            return False
        await self._record_sent(claim, loaded.channel, result)
        return True

    async def _record_sent(self, claim: Claim, channel: str, result: SendResult) -> None:
        """Record a send with the others that finish meanwhile, in one transaction.

        Group commit: while one batch is being written the next one gathers, so a lone send is
        recorded at once and a busy sender writes once per batch instead of once per message.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent.append((claim, channel, result, done))
        if not self._recording:
            self._recording = True
            self._recorder = asyncio.get_running_loop().create_task(self._write_sent())
        await done

    async def _write_sent(self) -> None:
        try:
            while self._sent:
                batch, self._sent = self._sent, []
                try:
                    items = [(claim, channel, result) for claim, channel, result, _ in batch]
                    await self._persist(self.record_successes, items)
                except BaseException as exc:
                    for *_, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                else:
                    for *_, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._recording = False

    def _renew(self, claim: Claim) -> bool:
        with self.db.session() as session:
            return renew(session, OutboxMessage, claim, self.lease_seconds)

    async def _record_failure(self, claim: Claim, error: SendError) -> None:
        await self._persist(self.record_failure, claim, error)

    async def _persist(self, record: Callable[..., None], *args: object) -> None:
        """Record what the platform said, waiting out a database outage.

        Losing the record of a sent message would send it again once the lease runs out; the
        claim token keeps a late record from overwriting another worker's.
        """
        for attempt in range(1, 1000):
            try:
                await self.db.run(record, *args)
                return
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                delay = min(self.max_backoff_seconds, 0.5 * 2 ** min(attempt, 10))
                log.warning("recording a send failed (%r); again in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    def record_success(self, claim: Claim, channel: str, result: SendResult) -> None:
        self.record_successes([(claim, channel, result)])

    def record_successes(self, sent: list[tuple[Claim, str, SendResult]]) -> None:
        """Mark messages sent (each only if its claim still holds it), one statement each,
        which also tells whether the channel's circuit breaker is open; close those that are.

        Each record stands alone (`Database.autocommit`): on PostgreSQL a send costs one round
        trip, not four (BEGIN, the record, closing the breaker, COMMIT)."""
        now = utcnow()
        broken: set[str] = set()
        with self.db.autocommit() as connection:
            for claim, channel, result in sent:
                external_id = storable_id(result.external_id) if result.external_id else None
                held = {"held_id": claim.id, "held_token": claim.token}
                marked = connection.execute(
                    _mark_sent(), held | {"sent_at": now, "external_id": external_id}
                ).first()
                if marked is None:
                    log.error("outbox message %s was sent after its lease was lost", claim.id)
                elif marked[0]:
                    broken.add(channel)
            for channel in sorted(broken):
                closed = connection.execute(_close_breaker(), {"broken": channel})
                if rowcount(closed):
                    log.warning("channel %s works again: its circuit breaker is closed", channel)

    def record_failure(self, claim: Claim, error: SendError) -> None:
        with self.db.session() as session:
            row = session.get_one(OutboxMessage, claim.id)
            if row.claim_token != claim.token or row.status != WORKING:
                return
            now = utcnow()
            if error.channel_down:
                retry_at = self._open_breaker(session, row.channel, str(error), now)
                # Not the message's fault: the attempt does not count.
                settle(
                    session,
                    OutboxMessage,
                    claim,
                    status=PENDING,
                    attempts=row.attempts - 1,
                    next_attempt_at=retry_at,
                    lease_until=None,
                    last_error=str(error),
                )
                return
            delay = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (row.attempts - 1))
            retry_at = now + timedelta(seconds=delay)
            useful = row.expires_at is None or retry_at < row.expires_at
            if error.retryable and useful:
                settle(
                    session,
                    OutboxMessage,
                    claim,
                    status=PENDING,
                    next_attempt_at=retry_at,
                    lease_until=None,
                    last_error=str(error),
                )
                log.warning("send %s failed (%s); retry in %.1fs", claim.id, error, delay)
                return
            settle(
                session,
                OutboxMessage,
                claim,
                status=FAILED,
                lease_until=None,
                last_error=str(error),
            )
            log.error("send %s failed for good: %s", claim.id, error)
            if error.unreachable:
                _mark_unreachable(session, row.user_id)
            else:
                _fail_later(session, row)

    def _open_breaker(self, session: Session, channel: str, error: str, now: datetime) -> datetime:
        # Several sends may be refused at once: the first opens the breaker, the others add to it.
        stmt = insert_for(session.get_bind().dialect.name)(ChannelBreaker).values(
            channel=channel, error=error, opened_at=now, retry_at=now, trips=0
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["channel"]))
        breaker = session.get_one(ChannelBreaker, channel, with_for_update=True)
        breaker.trips += 1
        pause = min(self.max_breaker_seconds, self.breaker_seconds * 2 ** (breaker.trips - 1))
        retry_at = now + timedelta(seconds=pause)
        breaker.error, breaker.retry_at = error, retry_at
        log.error(
            "channel %s refuses every message (%s): circuit breaker open, replies kept pending, "
            "next try in %.0fs",
            channel,
            error,
            pause,
        )
        return retry_at


def _fail_later(session: Session, row: OutboxMessage) -> None:
    """Replies queued behind one that failed for good go with it, never ahead of it."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.user_id == row.user_id,
            OutboxMessage.id > row.id,
            OutboxMessage.status == PENDING,
        )
        .values(status=FAILED, last_error=f"an earlier reply ({row.id}) failed")
    )


def _mark_unreachable(session: Session, user_id: int) -> None:
    """The platform says this user cannot be reached: stop trying their queued messages too."""
    session.execute(update(User).where(User.id == user_id).values(unreachable=True))
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == PENDING)
        .values(status=FAILED, last_error="user unreachable")
    )
