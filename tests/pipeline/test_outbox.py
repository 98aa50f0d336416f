"""The first reply of a turn, claimed in the turn's commit and sent at once; batched records."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import select

from bot.channels import build_channels
from bot.channels.base import SendResult
from bot.clock import utcnow
from bot.db.models import ChannelBreaker, OutboxMessage
from bot.dialogue import build_dialogue
from bot.messages import Reply
from bot.pipeline import inbound, outbox
from bot.pipeline.claims import Claim
from bot.pipeline.inbound import Handler
from bot.pipeline.outbox import Sender
from bot.understanding import build_understanding
from tests.fixtures.bot import BotFactory, RunningBot, messenger_body, messenger_text


def _handler(bot: RunningBot) -> Handler:
    settings = bot.settings
    return Handler(
        bot.db, build_understanding(settings), build_dialogue(settings), build_channels(settings)
    )


def _turn(bot: RunningBot, handler: Handler, sender: str, send_lease: float) -> inbound.Turned:
    assert bot.post_messenger(messenger_body(messenger_text(sender, "hello"))).status_code == 200
    (claimed,) = inbound.claim_many(bot.db, 30, limit=1)
    assert claimed.event is not None
    return handler.turn(claimed.claim, claimed.event, None, send_lease)


def _statuses(bot: RunningBot) -> list[tuple[str, str | None]]:
    with bot.db.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.status, OutboxMessage.claim_token).order_by(OutboxMessage.id)
        )
        return [(status, token) for status, token in rows]


async def test_a_turn_claims_its_first_reply_unless_an_earlier_one_is_unsent(
    make_bot: BotFactory,
) -> None:
    with make_bot(run_workers=False) as bot:
        handler = _handler(bot)
        turned = _turn(bot, handler, "direct", send_lease=30)
        assert turned.written >= 1 and turned.first is not None
        first = _statuses(bot)
        # Claimed in the same commit, under this worker's token; later pieces stay pending.
        assert first[0] == ("working", turned.first.claim.token)
        assert all(status == "pending" for status, _ in first[1:])
        again = _turn(bot, handler, "direct", send_lease=30)
        assert again.written >= 1 and again.first is None  # the first reply is still in hand
        assert [s for s, _ in _statuses(bot)].count("working") == 1
        await handler.understanding.aclose()


async def test_a_turn_leaves_its_first_reply_pending_while_the_channel_breaker_is_open(
    make_bot: BotFactory,
) -> None:
    with make_bot(run_workers=False) as bot:
        handler = _handler(bot)
        with bot.db.session() as session:
            now = utcnow()
            session.add(
                ChannelBreaker(
                    channel="messenger",
                    error="refused",
                    opened_at=now,
                    retry_at=now + timedelta(minutes=1),
                    trips=1,
                )
            )
        turned = _turn(bot, handler, "broken", send_lease=30)
        assert turned.written >= 1 and turned.first is None
        assert {status for status, _ in _statuses(bot)} == {"pending"}
        with bot.db.session() as session:  # the breaker's pause is over: claimed again
            session.get_one(ChannelBreaker, "messenger").retry_at = utcnow()
        assert _turn(bot, handler, "mended", send_lease=30).first is not None
        await handler.understanding.aclose()


async def test_a_first_reply_whose_lease_ran_out_is_sent_once(make_bot: BotFactory) -> None:
    with make_bot(run_workers=False) as bot:
        handler = _handler(bot)
        stalled = _turn(bot, handler, "stalled-direct", send_lease=0.2).first
        assert stalled is not None
        time.sleep(0.4)  # the worker stalls between its commit and the send
        (taken_over,) = outbox.claim_many(bot.db, 30, limit=10)
        assert taken_over.claim.id == stalled.claim.id
        sender = Sender(bot.db, handler.channels, backoff_seconds=0.05, lease_seconds=30)
        assert await sender.deliver_claimed(taken_over) is True
        assert await sender.deliver_claimed(stalled) is False  # its renewal finds it lost
        assert len(bot.platforms.messenger("stalled-direct")) == 1
        assert _statuses(bot)[0][0] == "sent"
        await handler.understanding.aclose()
        for channel in handler.channels.values():
            await channel.aclose()


async def test_sends_that_finish_together_are_recorded_together(make_bot: BotFactory) -> None:
    with make_bot(run_workers=False) as bot:
        handler = _handler(bot)
        firsts = [_turn(bot, handler, f"batch-{i}", send_lease=30).first for i in range(6)]
        answered = asyncio.Event()
        ids = iter(range(100))

        async def platform(address: str, reply: Reply, tag: str | None) -> SendResult:
            await answered.wait()  # the platform answers all six at the same moment
            return SendResult(f"mid.batch.{next(ids)}")

        channels = dict(handler.channels)
        channels["messenger"].send = platform  # type: ignore[method-assign]
        sender = Sender(bot.db, channels, backoff_seconds=0.05, lease_seconds=30)
        batches: list[int] = []
        record = sender.record_successes

        def recorded(sent: list[tuple[Claim, str, SendResult]]) -> None:
            batches.append(len(sent))
            record(sent)

        sender.record_successes = recorded  # type: ignore[method-assign]
        sends = asyncio.gather(*(sender.deliver_claimed(f) for f in firsts if f))
        await asyncio.sleep(0.1)
        answered.set()
        assert await sends == [True] * 6
        assert batches == [6]  # one visit to the database recorded all six
        with bot.db.sessions() as session:
            rows = session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_([f.claim.id for f in firsts if f]))
            ).all()
        assert [r.status for r in rows] == ["sent"] * 6
        assert sorted(r.external_id or "" for r in rows) == [f"mid.batch.{i}" for i in range(6)]
        await handler.understanding.aclose()
        for channel in handler.channels.values():
            await channel.aclose()
