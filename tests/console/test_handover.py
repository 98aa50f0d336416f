"""Staff replies: the platform's rules, the outbox, the fake platform, and the bot's silence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.clock import utcnow
from bot.console.handover import reply_window
from bot.db.models import Case, CaseMessage, InboundEvent, OutboxMessage, User
from bot.services.crypto import decrypt
from tests.console.conftest import Console, csrf_of, urgent_case
from tests.fixtures.bot import RunningBot, messenger_body, messenger_text, reply_text
from tests.fixtures.servers import wait_until


@pytest.mark.parametrize(
    ("channel", "age", "flags", "allowed", "tag", "reason"),
    [
        ("messenger", timedelta(hours=23), {}, True, None, ""),
        ("messenger", timedelta(hours=25), {}, True, "HUMAN_AGENT", ""),
        ("messenger", timedelta(days=6, hours=23), {}, True, "HUMAN_AGENT", ""),
        ("messenger", timedelta(days=7, minutes=1), {}, False, None, "more than 7 days"),
        ("messenger", timedelta(hours=1), {"unreachable": True}, False, None, "no longer"),
        ("messenger", timedelta(hours=1), {"opted_out": True}, False, None, "stop"),
        ("viber", timedelta(days=30), {}, True, None, ""),
        ("viber", timedelta(hours=1), {"unreachable": True, "opted_out": True}, False, None,
         "unsubscribed"),
    ],
)  # fmt: skip
def test_reply_window(
    channel: str, age: timedelta, flags: dict, allowed: bool, tag: str | None, reason: str
) -> None:
    now = utcnow()
    user = User(channel=channel, address="A", last_inbound_at=now - age, **flags)
    window = reply_window(user, now)
    assert (window.allowed, window.tag) == (allowed, tag)
    assert reason in window.reason


def test_no_user_left_means_no_reply() -> None:
    assert "deleted their data" in reply_window(None, utcnow()).reason


def _outbox_for_case(bot: RunningBot, case_id: int) -> list[OutboxMessage]:
    with bot.db.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)))


def _received(bot: RunningBot, user: str, text: str) -> dict:
    """The body the fake Messenger received carrying `text` to `user` (waits for it)."""
    return wait_until(
        lambda: [r.body for r in bot.platforms.messenger(user) if reply_text(r.body) == text],
        timeout=10,
    )[0]


def _quiet_for(
    login: Callable[[str], Console], address: str, ago: timedelta
) -> tuple[Console, int]:
    """An agent, and an urgent case whose person last wrote `ago`."""
    agent = login("agent@example.org")
    case_id = urgent_case(agent.bot, address)
    with agent.bot.db.session() as session:
        session.execute(
            update(User).where(User.address == address).values(last_inbound_at=utcnow() - ago)
        )
    return agent, case_id


def _silent_turn(bot: RunningBot, user: str, text: str) -> int:
    """Post a message and wait until it is handled; the number of replies it produced."""
    item = messenger_text(user, text)
    assert bot.post_messenger(messenger_body(item)).status_code == 200

    def handled() -> int | None:
        with bot.db.sessions() as session:
            row = session.scalars(
                select(InboundEvent).where(InboundEvent.external_id == item["message"]["mid"])
            ).one_or_none()
        return row.id if row is not None and row.status == "done" else None

    event_id = wait_until(handled, timeout=30)
    with bot.db.sessions() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.inbound_id == event_id)) or 0


def test_reply_goes_out_as_response_and_the_bot_stays_quiet_until_resolved(
    login: Callable[[str], Console],
) -> None:
    agent = login("agent@example.org")
    bot = agent.bot
    case_id = urgent_case(bot, "P-reply")
    assert _silent_turn(bot, "P-reply", "are you there?") == 1, "told a person will answer"
    assert _silent_turn(bot, "P-reply", "hello??") == 0, "but not after every message"

    assert agent.post(f"/console/cases/{case_id}/claim", {}).status_code == 303
    sent = agent.post(f"/console/cases/{case_id}/reply", {"text": "  We are here. Are you safe? "})
    assert sent.status_code == 303
    received = _received(bot, "P-reply", "We are here. Are you safe?")
    assert received["messaging_type"] == "RESPONSE" and "tag" not in received
    [row] = _outbox_for_case(bot, case_id)
    assert row.tag is None
    wait_until(lambda: "sent" in agent.get(f"/console/cases/{case_id}/transcript").text)
    with bot.db.sessions() as session:
        case = session.get_one(Case, case_id)
        line = session.scalars(select(CaseMessage).where(CaseMessage.direction == "staff")).one()
        assert (case.status, case.waiting_since) == ("pending", None)
        assert case.first_response_at is not None
        assert (decrypt(line.text_enc), line.outbox_id) == ("We are here. Are you safe?", row.id)

    assert _silent_turn(bot, "P-reply", "yes, I am ok now") == 0, "staff just answered"
    with bot.db.sessions() as session:
        assert session.get_one(Case, case_id).status == "open", "the person wrote back"

    outcome = {"outcome": "information_given"}
    assert agent.post(f"/console/cases/{case_id}/resolve", outcome).status_code == 303
    assert _silent_turn(bot, "P-reply", "thank you") > 0, "the bot answers again"


def test_between_24_hours_and_7_days_the_human_agent_tag_is_used(
    login: Callable[[str], Console],
) -> None:
    agent, case_id = _quiet_for(login, "P-tag", timedelta(days=3))
    assert "HUMAN_AGENT" in agent.get(f"/console/cases/{case_id}").text
    agent.post(f"/console/cases/{case_id}/reply", {"text": "Checking in with you."})
    body = _received(agent.bot, "P-tag", "Checking in with you.")
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_after_7_days_the_console_says_no_reply_is_possible(
    login: Callable[[str], Console],
) -> None:
    agent, case_id = _quiet_for(login, "P-old", timedelta(days=8))
    page = agent.get(f"/console/cases/{case_id}").text
    assert "Messenger no longer allows a reply" in page and 'name="text" rows="4"' not in page
    refused = agent.client.post(
        f"{agent.bot.url}/console/cases/{case_id}/reply",
        data={"text": "hello?", "csrf_token": csrf_of(agent.get("/console/").text)},
        follow_redirects=True,
    )
    assert "Messenger no longer allows a reply" in refused.text
    assert _outbox_for_case(agent.bot, case_id) == []


def test_viber_user_who_unsubscribed_cannot_be_messaged(
    login: Callable[[str], Console],
) -> None:
    agent = login("agent@example.org")
    bot = agent.bot
    case_id = urgent_case(bot, "V-gone", channel="viber")
    event = {"event": "unsubscribed", "timestamp": 1, "user_id": "V-gone", "message_token": 77}
    assert bot.post_viber(event).status_code == 200
    wait_until(lambda: "unsubscribed on Viber" in agent.get(f"/console/cases/{case_id}").text)
    agent.post(f"/console/cases/{case_id}/reply", {"text": "hello?"})
    assert _outbox_for_case(bot, case_id) == []
    assert "hello?" not in [r.body.get("text") for r in bot.platforms.viber("V-gone")]


def test_snoozed_until_the_next_message(login: Callable[[str], Console]) -> None:
    agent = login("agent@example.org")
    case_id = urgent_case(agent.bot, "P-snooze")
    agent.post(f"/console/cases/{case_id}/status", {"status": "snoozed"})
    assert f'data-case="{case_id}"' not in agent.get("/console/queue/rows").text
    assert f'data-case="{case_id}"' in agent.get("/console/queue/rows?status=snoozed").text
    _silent_turn(agent.bot, "P-snooze", "hello again")
    assert f'data-case="{case_id}"' in agent.get("/console/queue/rows").text


def test_a_double_submitted_reply_goes_out_once(login: Callable[[str], Console]) -> None:
    agent = login("agent@example.org")
    bot = agent.bot
    case_id = urgent_case(bot, "P-twice")
    form = {
        "text": "We are here.",
        "csrf_token": csrf_of(agent.get(f"/console/cases/{case_id}").text),
    }
    url = f"{bot.url}/console/cases/{case_id}/reply"
    first, second = agent.client.post(url, data=form), agent.client.post(url, data=form)
    assert (first.status_code, second.status_code) == (303, 303)
    assert "already sent" in agent.get(f"/console/cases/{case_id}").text
    with bot.db.sessions() as session:
        lines = session.scalars(
            select(CaseMessage).where(
                CaseMessage.case_id == case_id, CaseMessage.direction == "staff"
            )
        ).all()
    assert len(lines) == 1
    assert [r.id for r in _outbox_for_case(bot, case_id) if "We are here." in str(r.payload)] == [
        lines[0].outbox_id
    ]
