"""The person's side of a hand-over, end to end: signed webhooks, pipeline, outbox, fake
platform. Time is the platform's message timestamp, so a test moves it on per message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import utcnow
from bot.db.models import Case, User
from bot.dialogue.i18n import Translator
from bot.services.seed import seed_if_empty
from tests.fixtures.bot import BotFactory, RunningBot, messenger_body, messenger_text, reply_text

# A Sunday noon in Bangkok: outside Mon-Fri office hours there.
SUNDAY = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
OFFICE = "en=Mon-Fri 09:00-17:00 Asia/Bangkok; *=daily 00:00-24:00 Asia/Bangkok"


@pytest.fixture
def seeded(bot: RunningBot) -> RunningBot:
    with bot.db.session() as session:
        seed_if_empty(session)
    return bot


@pytest.fixture
def office_hours(make_bot: BotFactory) -> Iterator[RunningBot]:
    with make_bot(HOTLINE_HOURS=OFFICE) as running:
        with running.db.session() as session:
            seed_if_empty(session)
        yield running


def _say(bot: RunningBot, user: str, text: str, at: datetime) -> list[str]:
    item = messenger_text(user, text)
    item["timestamp"] = int(at.timestamp() * 1000)
    bodies = bot.turn("messenger", messenger_body(item), item["message"]["mid"], silent=True)
    return [reply_text(b) for b in bodies]


def _tap(bot: RunningBot, user: str, payload: str, at: datetime) -> list[dict[str, Any]]:
    item = messenger_text(user, payload)
    item["message"]["quick_reply"] = {"payload": payload}
    item["timestamp"] = int(at.timestamp() * 1000)
    return bot.turn("messenger", messenger_body(item), item["message"]["mid"])


def _said(t: Translator, key: str) -> str:
    return t(key, "en", expect=t("handover.wait_unknown", "en"))


def _case(bot: RunningBot) -> Case:
    with bot.db.sessions() as session:
        return session.scalars(select(Case)).one()


def test_first_message_is_acknowledged_then_at_most_once_per_interval(
    seeded: RunningBot, t: Translator
) -> None:
    t0 = utcnow()
    _tap(seeded, "P-ack", "start.privacy|lang=en", t0)
    assert _say(seeded, "P-ack", "talk to a person", t0) == [_said(t, "handover.opened")]
    waiting = _said(t, "handover.waiting")
    assert _say(seeded, "P-ack", "hello are you there", t0 + timedelta(minutes=1)) == [waiting]
    assert _say(seeded, "P-ack", "any news", t0 + timedelta(minutes=2)) == []
    assert _say(seeded, "P-ack", "pls", t0 + timedelta(minutes=5, seconds=59)) == []
    assert _say(seeded, "P-ack", "pls answer", t0 + timedelta(minutes=6)) == [waiting]
    assert _case(seeded).status == "open"


def test_menu_during_a_case_shows_the_menu_and_keeps_the_place_in_the_queue(
    seeded: RunningBot, t: Translator
) -> None:
    t0 = utcnow()
    _tap(seeded, "P-menu", "start.privacy|lang=en", t0)
    _say(seeded, "P-menu", "talk to a person", t0)
    replies = _say(seeded, "P-menu", "menu", t0 + timedelta(seconds=30))
    assert replies == [t("handover.still_waiting", "en"), t("menu.prompt", "en")]
    case = _case(seeded)
    assert (case.status, case.trigger) == ("open", "talk_to_human")

    assert _say(seeded, "P-menu", "stop", t0 + timedelta(minutes=1)) == [], "stop still stops"
    with seeded.db.sessions() as session:
        assert session.scalars(select(User).where(User.address == "P-menu")).one().opted_out
    assert _case(seeded).status == "open", "staff can still see the case"


def test_out_of_hours_the_person_is_told_at_once_with_numbers(
    office_hours: RunningBot, t: Translator
) -> None:
    bot = office_hours
    _tap(bot, "P-night", "start.privacy|lang=en", SUNDAY)
    _tap(bot, "P-night", "hotline.start|country=TH", SUNDAY)
    opened = _say(bot, "P-night", "talk to a person", SUNDAY + timedelta(minutes=1))
    closed = t(
        "handover.closed",
        "en",
        next_open="Mon 09:00 (UTC+7)",
        team_hours="Mon–Fri 09:00–17:00 (UTC+7)",
    )
    assert opened[0] == closed
    assert "1300" in opened[1] and "191" in opened[1], "Thailand's numbers to call meanwhile"
    later = _say(bot, "P-night", "hello?", SUNDAY + timedelta(minutes=2))
    assert later[0] == closed, "writing during the case: the same truth, at once"


def test_in_hours_the_answer_names_the_hours(office_hours: RunningBot, t: Translator) -> None:
    monday = SUNDAY + timedelta(days=1)  # Monday 12:00 in Bangkok
    _tap(office_hours, "P-day", "start.privacy|lang=en", monday)
    opened = _say(office_hours, "P-day", "talk to a person", monday)
    hours = t("handover.hours", "en", team_hours="Mon–Fri 09:00–17:00 (UTC+7)")
    expect = f"{t('handover.wait_unknown', 'en')} {hours}"
    assert opened == [t("handover.opened", "en", expect=expect)]


@pytest.mark.parametrize("lang", ["en", "my", "km", "bn"])
def test_the_privacy_notice_is_at_most_300_characters(t: Translator, lang: str) -> None:
    notice = t("privacy.notice", lang)
    assert len(notice) <= 300, f"{lang}: {len(notice)} characters"
    words = [t("words.delete", lang).split("|")[0], t("words.erase", lang).split("|")[0]]
    assert all(f"“{word}”" in notice for word in words), "it still says how to erase"
