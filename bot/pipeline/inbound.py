"""Inbound events: stored before the webhook answers, handled afterwards, exactly once."""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    Select,
    Table,
    Text,
    bindparam,
    case,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session, aliased

from bot.channels.base import Channel
from bot.clock import utcnow
from bot.db.models import UNFINISHED, Case, Conversation, InboundEvent, OutboxMessage, User
from bot.db.session import Database, insert_for
from bot.dialogue.base import Dialogue, Stored, Turn
from bot.messages import Inbound
from bot.pipeline import effects, outbox, wakeups
from bot.pipeline.claims import (
    PENDING,
    WORKING,
    Claim,
    held_row,
    settle,
    take,
)
from bot.services import cases
from bot.understanding.base import Parse, Understanding

log = logging.getLogger(__name__)

# Shards were once the hash modulo 64, so five people of three hundred shared one and waited
# behind each other's turns. A row stored so (by a web process not yet restarted) still holds
# back its sender's later events: their shard modulo 64 is the old one.
LEGACY_SHARDS = 64
_DIALOGUE_KINDS = {"text", "payload", "attachment", "start", "subscribed"}


def shard_of(channel: str, sender: str) -> int:
    """The sender's own shard, a 31-bit hash (two people share one about once in two billion
    pairs, and then only wait on each other): its events are handled one at a time, in order."""
    return zlib.crc32(f"{channel}:{sender}".encode()) & 0x7FFFFFFF


def store(session: Session, events: list[Inbound]) -> int:
    """Insert events, ignoring ones already stored (Meta and Viber redeliver). Returns new rows."""
    return len(store_new(session, events))


def store_new(session: Session, events: list[Inbound]) -> set[tuple[str, str]]:
    """Insert events in one statement; the (channel, external_id) of those that were new. One
    wake-up for all of them.

    The unique constraint on (channel, external_id) decides, so two racing deliveries of the
    same event (or one repeated within the list) store it once.
    """
    if not events:
        return set()
    dialect = session.get_bind().dialect.name
    stored = {(row[0], row[1]) for row in session.execute(_insert_new(dialect), _rows(events))}
    if stored and dialect != "postgresql":  # PostgreSQL's INSERT notifies by itself
        wakeups.notify(session, wakeups.INBOUND)
    return stored


async def store_async(engine: AsyncEngine, events: list[Inbound]) -> set[tuple[str, str]]:
    """`store_new` on PostgreSQL, from the event loop and without a transaction: one
    statement, which inserts, sends the wake-up and commits, all or nothing (see
    `_insert_recordset`). One round trip on an acknowledgement's path instead of five (ping, BEGIN,
    INSERT, NOTIFY, COMMIT), and no hand-over to a thread and back (psycopg's async
    connection): each is a wait for a core while the workers and the NLU keep both busy."""
    if not events:
        return set()
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        rows = await autocommit.execute(_insert_recordset(), _recordset(events))
        return {(row[0], row[1]) for row in rows}


def _recordset(events: list[Inbound]) -> dict[str, Any]:
    """The rows as one JSON array, for `_insert_recordset`."""
    return {"rows": json.dumps([_given(e) for e in events]), "received_at": utcnow()}


@cache
def _insert_recordset() -> Any:
    """`_insert_new` on PostgreSQL with its rows as one JSON array (`json_to_recordset`): the
    same SQL whatever the number of rows, so psycopg converts it once and the server plans it
    once (prepared). Rows as VALUES made a new statement for each batch size: converting it was
    a tenth of the web's CPU (py-spy, a burst of webhooks); rows as one array a column cost as
    much again in psycopg's quoting of each element."""
    table = cast(Table, InboundEvent.__table__)
    given = (
        func.json_to_recordset(bindparam("rows", type_=Text).cast(JSON))
        .table_valued(
            column("channel", Text),
            column("external_id", Text),
            column("kind", Text),
            column("shard", Integer),
            column("payload", JSON),
        )
        .render_derived(name="given", with_types=True)
    )
    picked = select(
        *given.c,
        literal(PENDING),
        literal(0),
        bindparam("received_at", type_=table.c.received_at.type),
    )
    return (
        postgresql.insert(table)
        .from_select([*given.c.keys(), "status", "attempts", "received_at"], picked)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table.c.channel, table.c.external_id, func.pg_notify(wakeups.INBOUND, ""))
    )


def _given(event: Inbound) -> dict[str, Any]:
    """An event's own columns; the rest every new row starts with."""
    return {
        "channel": event.channel,
        "external_id": event.external_id,
        "kind": event.kind,
        "shard": shard_of(event.channel, event.sender),
        "payload": event.to_json(),
    }


def _rows(events: list[Inbound]) -> list[dict[str, Any]]:
    now = utcnow()
    return [_given(e) | {"status": PENDING, "attempts": 0, "received_at": now} for e in events]


@cache
def _insert_new(dialect: str) -> Any:
    """The webhook's INSERT, built once per backend and given its rows as parameters, so it is
    compiled once (SQLAlchemy batches the rows into VALUES within the backend's limits). Built
    with its rows inside, it was compiled on every webhook: 1.2 ms of the web's 2.9 ms."""
    table = cast(Table, InboundEvent.__table__)
    returning: list[Any] = [table.c.channel, table.c.external_id]
    if dialect == "postgresql":
        # The wake-up in the same statement, for the rows it inserted only (a redelivery that
        # stores nothing wakes nobody); sent on commit, the same topic once a transaction.
        returning.append(func.pg_notify(wakeups.INBOUND, ""))
    return (
        insert_for(dialect)(table)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(*returning)
    )


def record_delivery(session: Session, event: Inbound) -> None:
    """A platform receipt for one of our messages: record it on the outbox row."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == event.channel, OutboxMessage.external_id == event.external_id
        )
        .values(delivery=event.delivery)
    )


# Unfinished events read per page when picking: the events in hand come first in id order (at
# most a worker's turns in flight), then the waiting ones.
PICK_PAGE = 128


def pick(connection: Connection, limit: int) -> list[int]:
    """The oldest unfinished event of each person, unless an earlier one is still in hand:
    up to `limit` ids, oldest first.

    That keeps each person's messages in order even with several processes claiming, and a
    batch holds at most one event per person; nobody waits behind anyone else's turn.

    Read in id order, a page at a time, and decided here: an event is blocked when an earlier
    unfinished one shares its shard (or, stored before shards were full hashes, its shard
    modulo 64). As one query (NOT EXISTS an earlier unfinished event), PostgreSQL's plan
    depended on its table statistics: with none (a new database) or with those of a quiet day
    during a backlog, it compared every waiting event with every other, 5 to 340 ms a claim
    with 2,000 waiting (EXPLAIN ANALYZE); this reads each page once, by its index.
    """
    now = utcnow()
    earlier: set[int] = set()
    picked: list[int] = []
    after = 0
    while True:
        page = connection.execute(_unfinished(), {"after": after, "page": PICK_PAGE}).all()
        for row_id, shard, status, lease_until in page:
            blocked = shard in earlier or shard % LEGACY_SHARDS in earlier
            expired = status == WORKING and lease_until is not None and lease_until < now
            if not blocked and (status == PENDING or expired):
                picked.append(row_id)
                if len(picked) == limit:
                    return picked
            earlier.add(shard)
        if len(page) < PICK_PAGE:
            return picked
        after = page[-1][0]


@cache
def _unfinished() -> Select[Any]:
    """A page of unfinished events after id `:after`, in id order (the partial index)."""
    rows = cast(Table, InboundEvent.__table__).c
    return (
        select(rows.id, rows.shard, rows.status, rows.lease_until)
        .where(text(UNFINISHED), rows.id > bindparam("after"))
        .order_by(rows.id)
        .limit(bindparam("page"))
    )


def claim(db: Database, lease_seconds: float) -> Claim | None:
    """One event (see `pick`)."""
    taken = claim_many(db, lease_seconds, 1)
    return taken[0].claim if taken else None


@dataclass(frozen=True)
class Claimed:
    """A claimed event and its payload, read in the claiming transaction."""

    claim: Claim
    event: Inbound | None


def claim_many(db: Database, lease_seconds: float, limit: int) -> list[Claimed]:
    """Up to `limit` events (see `pick`) with their payloads: two statements, each on its own
    (`Database.autocommit`)."""
    with db.autocommit() as connection:
        ids = pick(connection, limit)
        taken = take(connection, InboundEvent, ids, lease_seconds, InboundEvent.payload)
    return [
        Claimed(claim_, Inbound.from_json(payload) if payload else None)
        for claim_, (payload,) in taken
    ]


@dataclass(frozen=True)
class Turned:
    """What a turn stored: how many replies, and the first one when it is ours to send now."""

    written: int
    first: outbox.Claimed | None = None


class LostClaim(Exception):
    """The lease ran out and another worker took the event over: this worker's work is void."""


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

    def load(self, claim: Claim) -> Inbound | None:
        with self.db.session() as session:
            row = session.get(InboundEvent, claim.id)
            if row is None or row.claim_token != claim.token:
                raise LostClaim(claim.id)
            return Inbound.from_json(row.payload) if row.payload else None

    async def understand(self, event: Inbound) -> Parse | None:
        if event.kind != "text" or not event.text:
            return None
        return await self.understanding.parse(event.text)

    def apply(self, claim: Claim, event: Inbound, parse: Parse | None) -> int:
        """Run the dialogue and store its replies; returns how many outbox rows were written."""
        return self.turn(claim, event, parse).written

    def turn(
        self, claim: Claim, event: Inbound, parse: Parse | None, send_lease: float | None = None
    ) -> Turned:
        """Run the dialogue and store its replies, in one transaction.

        The event is marked done first, on condition that this claim still holds it: a worker
        whose lease ran out rolls back instead of answering the same message twice. With
        `send_lease`, the first reply is claimed for this worker in the same commit (when it
        is next in line for its user), so the worker sends it at once, without a claim round.
        """
        with self.db.session() as session:
            done: dict[str, Any] = dict(
                status="done", processed_at=utcnow(), lease_until=None, payload=None
            )
            stored: Stored | None = None
            if event.kind in _DIALOGUE_KINDS and self.db.engine.dialect.name == "postgresql":
                user, stored = _settle_and_read(session, claim, event, done)
            else:
                if not settle(session, InboundEvent, claim, **done):
                    raise LostClaim(claim.id)
                user = _user_for(session, event)
            if event.kind not in _DIALOGUE_KINDS:
                return Turned(0)
            turn = Turn(
                kind=event.kind,
                received_at=_received_at(event),
                text=event.text,
                payload=event.payload,
                attachment=event.attachment,
                parse=parse,
            )
            response = self.dialogue.respond(session, user, turn, stored)
            effects.apply(session, user, response)
            channel = self.channels.get(event.channel)
            if channel is None or not response.replies:
                return Turned(0)
            stored_replies = outbox.enqueue(
                session,
                user,
                response.replies,
                channel,
                inbound_id=claim.id,
                notify=False,
                claim_lease=send_lease,
            )
            if stored_replies.rows and stored_replies.first is None:
                # Only then is there anything for an outbox loop to claim now; the replies
                # after a first one sent here wait for it, and this worker wakes its own loop.
                wakeups.notify(session, wakeups.OUTBOX)
            return Turned(len(stored_replies.rows), stored_replies.first)

    def fail(self, claim: Claim, error: str, *, counts: bool = True) -> None:
        """Give the event back for another try, or park it after too many.

        A failure that is not the event's fault (the database went away) does not count.
        """
        with self.db.session() as session:
            row = session.get(InboundEvent, claim.id)
            if row is None or row.claim_token != claim.token or row.status != WORKING:
                return
            attempts = row.attempts if counts else row.attempts - 1
            status = "failed" if attempts >= self.max_attempts else PENDING
            settle(
                session,
                InboundEvent,
                claim,
                error=error[:1000],
                lease_until=None,
                status=status,
                attempts=attempts,
            )
            if status == "failed":
                log.error("inbound event %s failed for good: %s", claim.id, error[:200])


def _user_for(session: Session, event: Inbound) -> User:
    """The sender, with what this event says of them written in the same statement that
    reads them (UPDATE … RETURNING); created on their first event."""
    changes = _user_changes(event)
    found = session.scalars(
        _user_update(tuple(changes)) if changes else _user_select(),
        _sender_params(event, changes),
    ).one_or_none()
    return found if found is not None else _new_user(session, event, changes)


def _sender_params(event: Inbound, changes: dict[str, Any]) -> dict[str, Any]:
    """Parameters of `_the_sender` and of `_new_values`."""
    mine = {"sender_channel": event.channel, "sender_address": event.sender}
    return mine | {f"new_{name}": value for name, value in changes.items()}


def _new_user(session: Session, event: Inbound, changes: dict[str, Any]) -> User:
    user = User(channel=event.channel, address=event.sender, **changes)
    session.add(user)
    session.flush()
    return user


def _settle_and_read(
    session: Session, claim: Claim, event: Inbound, done: dict[str, Any]
) -> tuple[User, Stored]:
    """PostgreSQL: mark the event done (if this claim still holds it), write and read its
    sender, and read their conversation and active case, in one statement: three round trips
    of a turn's ten, each one a wait for the server and CPU on both sides."""
    changes = _user_changes(event)
    found = session.execute(
        _settled_sender(tuple(done), tuple(changes)),
        {"held_id": claim.id, "held_token": claim.token}
        | {f"done_{name}": value for name, value in done.items()}
        | _sender_params(event, changes),
    ).one_or_none()
    if found is None:  # nothing settled: the lease ran out and another worker has the event
        raise LostClaim(claim.id)
    _, user, conversation, active = found
    if user is None:  # their first event: nothing stored about them yet
        return _new_user(session, event, changes), (None, None)
    return user, (conversation, active)


@cache
def _settled_sender(done: tuple[str, ...], columns: tuple[str, ...]) -> Select[Any]:
    """`_settle_and_read`'s statement, built once per set of columns: the event's UPDATE and
    the sender's (only if the first settled) as CTEs, joined to the conversation and case.
    No row: the claim was lost. A row without a sender: a new person."""
    events, users = cast(Table, InboundEvent.__table__), cast(Table, User.__table__)
    settled = (
        held_row(InboundEvent)
        .values({name: bindparam(f"done_{name}") for name in done})
        .returning(events.c.id)
        .cte("settled")
    )
    sender = (
        update(users)
        .where(_the_sender(), exists(select(settled.c.id)))
        .values(_new_values(columns))
        .returning(*users.c)
        if columns
        else select(users).where(_the_sender())
    ).cte("sender")
    person = aliased(User, sender)
    return (
        select(settled.c.id, person, Conversation, Case)
        .select_from(settled)
        .outerjoin(sender, true())
        .outerjoin(Conversation, Conversation.user_id == person.id)
        .outerjoin(Case, Case.id == cases.latest_active(person.id))
    )


def _user_changes(event: Inbound) -> dict[str, Any]:
    """Columns an event sets on its sender."""
    changes: dict[str, Any] = {}
    if event.platform_language:
        changes["platform_language"] = event.platform_language
    if event.kind == "unsubscribed":
        changes["opted_out"] = changes["unreachable"] = True
    elif event.kind != "start":
        # Writing again (or resubscribing) is the only way back in after a stop or a block.
        changes["opted_out"] = changes["unreachable"] = False
        # When the person wrote, not when a worker got to it: Messenger's 24-hour and 7-day
        # reply windows count from the message, and a backlog (or a message delivered out of
        # order) must not move them (see `_user_update`).
        changes["last_inbound_at"] = _received_at(event)
    return changes


def _the_sender() -> ColumnElement[bool]:
    users = cast(Table, User.__table__).c
    return (users.channel == bindparam("sender_channel")) & (
        users.address == bindparam("sender_address")
    )


@cache
def _user_select() -> Select[Any]:
    return select(User).where(_the_sender())


@cache
def _user_update(columns: tuple[str, ...]) -> Any:
    """UPDATE … RETURNING of the sender, setting `columns` to parameters `new_<column>`
    (built once per set of columns); `last_inbound_at` only ever moves forward.

    A table UPDATE whose rows the ORM reads as `User` (`from_statement`): as an ORM-enabled
    UPDATE it went through the bulk-update path, 0.2 ms against 0.15 (measured)."""
    table = cast(Table, User.__table__)
    return select(User).from_statement(
        update(table).where(_the_sender()).values(_new_values(columns)).returning(*table.c)
    )


def _new_values(columns: tuple[str, ...]) -> dict[str, Any]:
    """The sender's `columns` set to parameters `new_<column>`; `last_inbound_at` only ever
    moves forward."""
    table = cast(Table, User.__table__)
    values: dict[str, Any] = {}
    for name in columns:
        new = bindparam(f"new_{name}", type_=table.c[name].type)
        if name == "last_inbound_at":
            later = or_(table.c.last_inbound_at.is_(None), table.c.last_inbound_at < new)
            values[name] = case((later, new), else_=table.c.last_inbound_at)
        else:
            values[name] = new
    return values


def _received_at(event: Inbound) -> datetime:
    if event.timestamp_ms:
        return datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
    return utcnow()
