"""Batch claims: one transaction takes many rows, never two of one user, always the oldest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.channels import build_channels
from bot.db.models import InboundEvent, OutboxMessage, User
from bot.db.session import Database
from bot.messages import Inbound, Reply
from bot.pipeline import inbound, outbox
from bot.settings import Settings


def _events(db: Database, senders: list[str]) -> None:
    with db.session() as session:
        inbound.store(
            session,
            [
                Inbound(channel="messenger", sender=s, kind="text", external_id=f"m{i}", text=s)
                for i, s in enumerate(senders)
            ],
        )


def test_a_batch_takes_the_oldest_event_of_each_user_and_the_next_only_once_it_is_done(
    db: Database,
) -> None:
    _events(db, ["ann", "bob", "ann", "cat", "bob", "ann"])
    first = inbound.claim_many(db, 30, limit=10)
    # One event per user, each its oldest, with its payload.
    assert [(c.event.sender, c.event.external_id) for c in first if c.event] == [
        ("ann", "m0"),
        ("bob", "m1"),
        ("cat", "m3"),
    ]
    assert inbound.claim_many(db, 30, limit=10) == []  # the rest wait behind them
    with db.session() as session:
        tokens = {r.id: r.claim_token for r in session.scalars(select(InboundEvent))}
    assert all(tokens[c.claim.id] == c.claim.token for c in first)
    with db.session() as session:  # ann's and bob's first events are done
        for done in first[:2]:
            row = session.get_one(InboundEvent, done.claim.id)
            row.status = "done"
    second = inbound.claim_many(db, 30, limit=1)
    assert [c.event.external_id for c in second if c.event] == ["m2"]  # the limit holds
    third = inbound.claim_many(db, 30, limit=10)
    assert [c.event.external_id for c in third if c.event] == ["m4"]


def test_a_person_with_many_waiting_events_does_not_hide_the_next_person_past_a_page(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "PICK_PAGE", 2)
    _events(db, ["ann"] * 5 + ["bob"])
    # ann's four later events wait behind her first; bob's is on the third page.
    taken = inbound.claim_many(db, 30, limit=10)
    assert [c.event.external_id for c in taken if c.event] == ["m0", "m5"]
    assert inbound.claim_many(db, 30, limit=10) == []


def test_an_event_stored_under_its_senders_old_shard_still_holds_back_the_next(
    db: Database,
) -> None:
    _events(db, ["ann", "ann"])
    with db.session() as session:  # stored by a web process from before full-hash shards
        old = session.get_one(InboundEvent, 1)
        old.shard = inbound.shard_of("messenger", "ann") % inbound.LEGACY_SHARDS
    (first,) = inbound.claim_many(db, 30, limit=10)
    assert first.claim.id == 1
    assert inbound.claim_many(db, 30, limit=10) == []


def test_an_outbox_batch_takes_one_due_message_per_user_with_its_content(db: Database) -> None:
    settings = Settings(MESSENGER_APP_SECRET="s", MESSENGER_PAGE_TOKEN="t")
    channel = build_channels(settings)["messenger"]
    with db.session() as session:
        users = [User(channel="messenger", address=a) for a in ("ann", "bob")]
        session.add_all(users)
        session.flush()
        outbox.enqueue(session, users[0], [Reply("a1"), Reply("a2")], channel)
        outbox.enqueue(session, users[1], [Reply("b1")], channel)
    taken = outbox.claim_many(db, 30, limit=10)
    assert [(c.loaded.address, c.loaded.reply.text) for c in taken] == [
        ("ann", "a1"),
        ("bob", "b1"),
    ]
    assert outbox.claim_many(db, 30, limit=10) == []  # a2 waits for a1
    with db.session() as session:
        statuses = sorted(session.scalars(select(OutboxMessage.status)))
    assert statuses == ["pending", "working", "working"]
