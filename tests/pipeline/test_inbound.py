"""The inbound handler's bookkeeping, through the real webhook."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from bot.db.models import InboundEvent, User
from bot.messages import Inbound
from bot.pipeline import inbound
from tests.fixtures.bot import BotFactory, RunningBot, messenger_body, messenger_text


def test_last_message_time_is_when_the_person_wrote_not_when_it_was_handled(
    bot: RunningBot,
) -> None:
    """Messenger's reply windows count from the message; a worker backlog must not move them."""
    two_hours_ago = int((time.time() - 7200) * 1000)
    item = messenger_text("late-handled", "hello")
    item["timestamp"] = two_hours_ago
    bot.turn("messenger", messenger_body(item), item["message"]["mid"])
    older = messenger_text("late-handled", "menu")
    older["timestamp"] = two_hours_ago - 60_000  # delivered out of order: must not go back
    bot.turn("messenger", messenger_body(older), older["message"]["mid"])
    with bot.db.sessions() as session:
        user = session.scalars(select(User).where(User.address == "late-handled")).one()
    assert user.last_inbound_at == datetime.fromtimestamp(two_hours_ago / 1000, UTC)


def _sharing_an_old_shard() -> tuple[str, str]:
    """Two senders whose events shared one of the 64 shards of old."""
    first: dict[int, str] = {}
    for n in range(1000):
        sender = f"neighbour-{n}"
        old = inbound.shard_of("messenger", sender) % inbound.LEGACY_SHARDS
        if old in first:
            return first[old], sender
        first[old] = sender
    raise AssertionError("no two senders share a shard")


def _store(bot: RunningBot, *events: Inbound) -> None:
    with bot.db.session() as session:
        inbound.store_new(session, list(events))


def _text(sender: str, mid: str) -> Inbound:
    return Inbound(channel="messenger", external_id=mid, kind="text", sender=sender, text="hi")


def test_a_person_never_waits_behind_anyone_elses_turn(make_bot: BotFactory) -> None:
    """Only the same person's earlier event holds one back, even for people who used to
    share a shard; and a batch takes each person's oldest event only."""
    a, b = _sharing_an_old_shard()
    with make_bot(run_workers=False) as bot:
        _store(bot, _text(a, "a1"), _text(a, "a2"), _text(b, "b1"), _text(b, "b2"))
        taken = inbound.claim_many(bot.db, 30, limit=10)
        assert sorted(c.event.external_id for c in taken if c.event) == ["a1", "b1"]
        assert inbound.claim_many(bot.db, 30, limit=10) == []  # a2, b2 wait for their own


def test_an_event_stored_under_the_old_shards_still_holds_back_its_senders_next(
    make_bot: BotFactory,
) -> None:
    a, _ = _sharing_an_old_shard()
    with make_bot(run_workers=False) as bot:
        _store(bot, _text(a, "old"))
        with bot.db.session() as session:  # as a web process of the old code stored it
            session.execute(
                update(InboundEvent)
                .where(InboundEvent.external_id == "old")
                .values(shard=inbound.shard_of("messenger", a) % inbound.LEGACY_SHARDS)
            )
        _store(bot, _text(a, "new"))
        (first,) = inbound.claim_many(bot.db, 30, limit=10)
        assert first.event is not None and first.event.external_id == "old"
        assert inbound.claim_many(bot.db, 30, limit=10) == []


def test_a_batch_beyond_one_statements_parameters_is_stored_whole_and_only_once(
    make_bot: BotFactory,
) -> None:
    """9000 events are 72000 parameters, over PostgreSQL's 65535 and SQLite's limits for one
    statement: all stored, and a redelivery with two new ones among them stores those two."""
    events = [_text(f"crowd-{n % 300}", f"c{n}") for n in range(9000)]
    with make_bot(run_workers=False) as bot:
        with bot.db.session() as session:
            assert len(inbound.store_new(session, events)) == 9000
        again = [*events[:500], _text("crowd-1", "c9000"), _text("crowd-2", "c9001")]
        with bot.db.session() as session:
            assert inbound.store_new(session, again) == {
                ("messenger", "c9000"),
                ("messenger", "c9001"),
            }
        with bot.db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(InboundEvent)) == 9002
