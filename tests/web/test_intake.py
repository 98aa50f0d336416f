"""Webhook events stored with group commit: each request its own answer, one bad one alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models import InboundEvent
from bot.db.session import Database
from bot.messages import Inbound
from bot.web.intake import Intake


def _text(external_id: str, text: object = "hello") -> Inbound:
    return Inbound(
        channel="messenger",
        external_id=external_id,
        kind="text",
        sender=f"user-{external_id}",
        text=text,  # type: ignore[arg-type]
    )


@pytest.fixture
async def intake(db: Database) -> AsyncIterator[Intake]:
    intake = Intake(db)
    yield intake
    await intake.aclose()


async def test_requests_that_meet_share_an_insert_and_each_gets_its_count(
    db: Database, intake: Intake
) -> None:
    inserts: list[str] = []

    def seen(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO inbound_events"):
            inserts.append(statement)

    # Every engine's: on PostgreSQL the intake writes through an async engine of its own.
    event.listen(Engine, "before_cursor_execute", seen)
    requests = [[_text(f"e{i}"), _text(f"e{i}")] for i in range(10)]  # each twice: one new
    requests.append([_text("e0")])  # a redelivery of a stored event
    try:
        counts = await asyncio.gather(*(intake.store(r) for r in requests))
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert counts[:10] == [1] * 10
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 10
    assert 1 <= len(inserts) < len(requests)


async def test_an_event_the_database_refuses_fails_only_its_own_request(
    db: Database, intake: Intake
) -> None:
    good = [[_text(f"good-{i}")] for i in range(4)]
    bad = [_text("bad", text=object())]  # not storable as JSON
    outcomes = await asyncio.gather(
        *(intake.store(r) for r in [*good[:2], bad, *good[2:]]), return_exceptions=True
    )
    assert outcomes[:2] == [1, 1] and outcomes[3:] == [1, 1]
    assert isinstance(outcomes[2], TypeError | SQLAlchemyError)
    with db.sessions() as session:
        stored = set(session.scalars(select(InboundEvent.external_id)))
    assert stored == {f"good-{i}" for i in range(4)}


async def test_nothing_is_stored_when_the_only_request_fails(db: Database, intake: Intake) -> None:
    with pytest.raises((TypeError, SQLAlchemyError)):
        await intake.store([_text("lone-bad", text=object())])


async def test_every_batch_size_is_the_same_statement(db: Database, intake: Intake) -> None:
    """One SQL text whatever the number of rows, so it is converted and planned once (on
    SQLite the rows still go as VALUES: a call there, not a round trip)."""
    inserts: list[str] = []

    def seen(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO inbound_events"):
            inserts.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        assert await intake.store([_text("one")]) == 1
        assert await intake.store([_text(f"three-{i}") for i in range(3)]) == 3
        assert await intake.store([_text("one"), _text("new")]) == 1  # a redelivery among them
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert len(inserts) == 3
    if not db.is_sqlite:
        assert len(set(inserts)) == 1
    with db.sessions() as session:
        stored = session.execute(select(InboundEvent.external_id, InboundEvent.payload)).all()
    assert {external_id for external_id, _ in stored} == {
        "one",
        "new",
        "three-0",
        "three-1",
        "three-2",
    }
    assert all(payload["sender"] == f"user-{external_id}" for external_id, payload in stored)
