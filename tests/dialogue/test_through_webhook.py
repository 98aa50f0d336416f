"""The flows behind the real webhooks, pipeline, outbox and channel renderers (fake platforms).

Taps and answers to the bot's own questions need no NLU, so these run on the NLU fallback;
the scripted conversations against the real Rasa server build on the same steps.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import Case
from bot.dialogue.i18n import Translator
from bot.services.seed import seed_if_empty
from tests.fixtures.bot import RunningBot, reply_payloads, reply_text


@pytest.fixture
def seeded_bot(bot: RunningBot) -> RunningBot:
    with bot.db.session() as session:
        seed_if_empty(session)
    return bot


@pytest.mark.parametrize("channel", ["messenger", "viber"])
def test_first_contact_then_a_licence_check(
    seeded_bot: RunningBot, t: Translator, channel: str
) -> None:
    user = f"W-{channel}"
    seeded_bot.say(user, "hello", channel)
    chosen = seeded_bot.tap(user, "start.privacy|lang=bn", channel)
    assert [reply_text(b) for b in chosen] == [t("privacy.notice", "bn"), t("menu.prompt", "bn")]
    assert reply_payloads(chosen[-1])[0] == "agency.ask|query="

    assert reply_text(seeded_bot.tap(user, "agency.ask|query=", channel)[-1]) == t(
        "agency.ask", "bn"
    )
    found = [reply_text(b) for b in seeded_bot.say(user, "আরএল ১০২৪", channel)]
    assert found[0] == t("registry.sample", "bn")
    assert "Sample Overseas Ltd (SAMPLE)" in found[1] and "2026-11-01" in found[1]


def test_urgent_tap_opens_a_case_and_sends_call_buttons(
    seeded_bot: RunningBot, t: Translator
) -> None:
    seeded_bot.tap("W-urgent", "start.privacy|lang=km")
    asked = seeded_bot.tap("W-urgent", "urgent.start")
    assert reply_text(asked[-1]) == t("urgent.where", "km")
    numbers = seeded_bot.tap("W-urgent", "urgent.numbers|country=KH")
    buttons = [
        button
        for body in numbers
        for button in body["message"].get("attachment", {}).get("payload", {}).get("buttons", [])
    ]
    assert {"type": "phone_number", "title": "📞 023 997 919", "payload": "+85523997919"} in buttons
    assert reply_text(numbers[-1]) == t("urgent.promise", "km")
    with seeded_bot.db.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert (case.priority, case.language, case.country) == ("urgent", "km", "KH")
