"""The inbound handler's bookkeeping, through the real webhook."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.channels import build_channels
from bot.db.models import Case, Conversation, InboundEvent, User
from bot.dialogue import build_dialogue
from bot.dialogue.base import Response, Stored, Turn
from bot.messages import Inbound, Reply
from bot.pipeline import inbound
from bot.pipeline.inbound import Handler, LostClaim
from bot.services import cases
from bot.understanding import build_understanding
from bot.vocabulary import Indicator, Risk
from tests.dialogue.chat import parse
from tests.fixtures.bot import BotFactory, RunningBot, messenger_body, messenger_text
from tests.fixtures.database import statements


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


class _Recording:
    """A dialogue that keeps what the handler gave it and answers nothing."""

    def __init__(self) -> None:
        self.seen: list[tuple[User, Stored | None, Stored]] = []

    def respond(
        self, session: Session, user: User, turn: Turn, stored: Stored | None = None
    ) -> Response:
        self.seen.append((user, stored, cases.conversation_and_case(session, user)))
        return Response([])

    def welcome(self, language: str | None) -> Reply:
        return Reply(text="welcome")


def test_a_turn_reads_its_sender_conversation_and_active_case_once_with_the_events_settling(
    make_bot: BotFactory,
) -> None:
    """On PostgreSQL one statement settles the event, updates the sender and reads their
    state; the dialogue gets exactly what a read of its own would give, a new person is
    created, and a lost claim changes nothing."""
    dialogue = _Recording()
    with make_bot(run_workers=False, dialogue=dialogue) as bot:
        with bot.db.session() as session:
            known = User(channel="messenger", address="known", language="my")
            session.add(known)
            session.flush()
            session.add(Conversation(user_id=known.id, flow="fees", step="ask", slots={}))
            session.add(Case(user_id=known.id, channel="messenger", trigger="t", status="open"))
            session.add(Case(user_id=known.id, channel="messenger", trigger="t", status="closed"))
        _store(bot, _text("known", "m-known"), _text("new-person", "m-new"))
        understanding = build_understanding(bot.settings)
        handler = Handler(bot.db, understanding, dialogue, {})  # no replies: no channel
        postgres = bot.db.engine.dialect.name == "postgresql"
        taken = []
        for _ in range(2):
            claimed = inbound.claim(bot.db, 30)
            assert claimed is not None
            event = handler.load(claimed)
            assert event is not None
            handler.turn(claimed, event, None)
            taken.append((claimed, event))
        (first, stored, truth), (second, stored_new, truth_new) = dialogue.seen
        assert first.address == "known" and first.last_inbound_at is not None
        conversation, case = truth
        assert conversation is not None and conversation.step == "ask"
        assert case is not None and case.status == "open"
        assert second.address == "new-person" and truth_new == (None, None)
        if postgres:  # read with the settling: the very rows a read of its own finds
            assert stored == truth and stored_new == (None, None)
        else:  # SQLite: three statements in one process cost less; the dialogue reads
            assert stored is None and stored_new is None
        with bot.db.sessions() as session:
            statuses = session.scalars(select(InboundEvent.status)).all()
        assert statuses == ["done", "done"]
        with pytest.raises(LostClaim):  # settled already: nothing is read or written again
            handler.turn(*taken[0], None)
        assert len(dialogue.seen) == 2
        asyncio.run(understanding.aclose())


def test_a_turn_reads_the_persons_case_once_opening_it_or_writing_to_it(
    make_bot: BotFactory,
) -> None:
    """An urgent message opens a case, the next one is added to it; neither turn reads the
    case again after the dialogue has it, and both land in the transcript."""
    with make_bot(run_workers=False) as bot:
        with bot.db.session() as session:
            session.add(User(channel="messenger", address="caller", language="en"))
        handler = Handler(bot.db, build_understanding(bot.settings), build_dialogue(bot.settings),
                          build_channels(bot.settings))  # fmt: skip
        said = [
            ("they took my passport help", parse("they took my passport help", "urgent_help",
             urgent=True, risk=Risk.URGENT, indicators=(Indicator.DOCUMENT_RETENTION,))),
            ("hello is anyone there", parse("hello is anyone there", "greet")),
        ]  # fmt: skip
        for n, (text, parsed) in enumerate(said):
            _store(bot, Inbound(channel="messenger", external_id=f"c{n}", kind="text",
                                sender="caller", text=text))  # fmt: skip
            claimed = inbound.claim(bot.db, 30)
            assert claimed is not None
            with statements(bot.db) as seen:
                handler.turn(claimed, handler.load(claimed), parsed, send_lease=30)  # type: ignore[arg-type]
            reads = [s for s in seen if re.search(r"FROM cases\s+WHERE cases.id =", s)]
            assert reads == [], reads
        with bot.db.sessions() as session:
            (case,) = session.scalars(select(Case)).all()
            lines = [m.direction for m in sorted(case.messages, key=lambda m: m.id)]
        assert case.priority == "urgent" and case.status == "open"
        assert lines[0] == "in" and "in" in lines[1:] and "bot" in lines
        asyncio.run(handler.understanding.aclose())
