"""The scripted conversations of issue 4, end to end: signed webhooks, the real Rasa server,
the flows, the outbox and the fake platform API.

Every typed line goes through normalization and the trained model (no hand-built parses),
so these scripts break when the NLU, the flows or the channel renderers drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from myanmartools import ZawgyiDetector
from sqlalchemy import select

from bot.db.models import Case, User
from bot.dialogue.i18n import Translator
from bot.services.seed import seed_if_empty
from tests.fixtures.bot import BotFactory, RunningBot, reply_payloads, reply_text

TOPICS = ("documents", "fees", "contract", "rights", "job_offer")


@dataclass(frozen=True)
class Script:
    lang: str
    channel: str
    hello: str
    check_agency: str  # asks to check an agency, in words
    licence: str  # a licence number as people write it
    licensed: str
    fuzzy: str  # a misspelled or transliterated name
    fuzzy_match: str
    unknown: str
    hotline_thailand: str  # asks for a number in Thailand, naming the country
    tips: dict[str, str]
    urgent: str


SCRIPTS = [
    Script(
        lang="en",
        channel="messenger",
        hello="hello",
        check_agency="is this agency licensed?",
        licence="rl 1024",
        licensed="Sample Overseas Ltd",
        fuzzy="Golden Brige",
        fuzzy_match="Golden Bridge",
        unknown="Nowhere Jobs Ltd",
        hotline_thailand="i need a helpline number in thailand",
        tips={
            "documents": "what papers do i need to work abroad",
            "fees": "how much can the agent charge me",
            "contract": "what should my work contract say",
            "rights": "how many days off do i get in a week",
            "job_offer": "is this job advert on facebook real",
        },
        urgent="please help they took my passport and locked me in",
    ),
    Script(
        lang="bn",
        channel="viber",
        hello="আসসালামু আলাইকুম",
        check_agency="এই এজেন্সির লাইসেন্স আছে কিনা দেখতে চাই",
        licence="আরএল ১০২৪",
        licensed="Sample Overseas Ltd",
        fuzzy="গোল্ডেন ব্রিজ",
        fuzzy_match="Golden Bridge",
        unknown="কাল্পনিক এজেন্সি",
        hotline_thailand="থাইল্যান্ডে হেল্পলাইন নম্বর দিন",
        tips={
            "documents": "বিদেশ যেতে কি কি কাগজ লাগবে",
            "fees": "দালাল কত টাকা নিতে পারে",
            "contract": "চুক্তিপত্রে কি লেখা থাকা দরকার",
            "rights": "সপ্তাহে কয়দিন ছুটি পাবো",
            "job_offer": "ফেসবুকে চাকরির বিজ্ঞাপন দেখলাম এটা কি আসল",
        },
        urgent="আমাকে ঘরে আটকে রেখেছে পাসপোর্ট নিয়ে গেছে",
    ),
    Script(
        lang="my",
        channel="messenger",
        hello="မင်္ဂလာပါ",
        check_agency="ဒီအေဂျင်စီ လိုင်စင်ရှိလား စစ်ချင်တယ်",
        licence="OEA-၁၀၁",
        licensed="Sample Golden Land",
        fuzzy="ရွှေမြေ အေဂျင်စ",
        fuzzy_match="Golden Land",
        unknown="မရှိတဲ့ အေဂျင်စီ",
        hotline_thailand="ထိုင်းမှာ အကူအညီ ဖုန်းနံပါတ် ပေးပါ",
        tips={
            "documents": "နိုင်ငံခြားသွားဖို့ ဘာစာရွက်စာတမ်းတွေ လိုလဲ",
            "fees": "ပွဲစားခ ဘယ်လောက်ပေးရမလဲ",
            "contract": "အလုပ်စာချုပ်မှာ ဘာတွေပါရမလဲ",
            "rights": "အလုပ်သမား အခွင့်အရေးတွေ ဘာတွေလဲ",
            "job_offer": "facebook က အလုပ်ခေါ်စာ အစစ်လား",
        },
        urgent="ကယ်ပါ ကျွန်မကို အိမ်ထဲမှာ ပိတ်ထားတယ်",
    ),
    Script(
        lang="km",
        channel="viber",
        hello="សួស្តីបង",
        check_agency="ខ្ញុំចង់ពិនិត្យភ្នាក់ងារមួយ",
        licence="PRA-០១២",
        licensed="Sample Angkor Manpower",
        fuzzy="អង្គរ ម៉ែនផៅ",
        fuzzy_match="Angkor Manpower",
        unknown="ភ្នាក់ងារគ្មាន",
        hotline_thailand="សុំលេខទូរស័ព្ទជំនួយនៅថៃ",
        tips={
            "documents": "ទៅធ្វើការក្រៅប្រទេសត្រូវការឯកសារអ្វីខ្លះ",
            "fees": "មេខ្យល់យកថ្លៃប៉ុន្មាន",
            "contract": "កិច្ចសន្យាការងារត្រូវមានអ្វីខ្លះ",
            "rights": "ពលករមានសិទ្ធិអ្វីខ្លះ",
            "job_offer": "ការងារលើ facebook នេះពិតទេ",
        },
        urgent="ជួយខ្ញុំផង គេចាក់សោខ្ញុំក្នុងផ្ទះ",
    ),
]


@pytest.fixture
def live(make_bot: BotFactory, rasa_server: str) -> Iterator[RunningBot]:
    """The app with the real NLU server (a generous timeout: no keyword fallback here)."""
    with make_bot(RASA_URL=rasa_server, NLU_TIMEOUT_SECONDS=30.0) as running:
        with running.db.session() as session:
            seed_if_empty(session)
        yield running


def _texts(bodies: list[dict]) -> str:
    return "\n".join(reply_text(b) for b in bodies)


def _chosen(bot: RunningBot, user: str, script: Script) -> None:
    bot.tap(user, f"start.privacy|lang={script.lang}", script.channel)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.lang for s in SCRIPTS])
def test_scripted_conversation(live: RunningBot, t: Translator, script: Script) -> None:
    lang, channel = script.lang, script.channel

    def say(user: str, text: str) -> list[dict]:
        return live.say(f"{lang}-{user}", text, channel)

    def tap(user: str, payload: str) -> list[dict]:
        return live.tap(f"{lang}-{user}", payload, channel)

    # First contact: greeting and language choice, then the privacy notice and the menu.
    first = say("first", script.hello)
    assert t("start.hello", lang) in _texts(first)
    languages = [f"start.privacy|lang={code}" for code in ("my", "km", "bn", "en")]
    assert reply_payloads(first[-1]) == languages
    chosen = tap("first", f"start.privacy|lang={lang}")
    assert [reply_text(b) for b in chosen] == [t("privacy.notice", lang), t("menu.prompt", lang)]

    # A licence number found (asked in words first, then the number typed).
    _chosen(live, f"{lang}-licence", script)
    assert reply_text(say("licence", script.check_agency)[-1]) == t("agency.ask", lang)
    found = _texts(say("licence", script.licence))
    assert t("registry.sample", lang) in found and script.licensed in found
    assert "2026-11-01" in found and t("agency.still_check", lang) in found

    # A name found by fuzzy match, straight away or through "did you mean".
    _chosen(live, f"{lang}-fuzzy", script)
    say("fuzzy", script.check_agency)
    answer = say("fuzzy", script.fuzzy)
    if script.fuzzy_match not in _texts(answer):
        picks = [p for p in reply_payloads(answer[0]) if p.startswith("agency.")]
        assert picks, _texts(answer)
        answer = tap("fuzzy", picks[0])
    assert script.fuzzy_match in _texts(answer)

    # An unknown agency: not in the list we have, with its date, and the hotline offered.
    _chosen(live, f"{lang}-unknown", script)
    say("unknown", script.check_agency)
    unknown = say("unknown", script.unknown)
    assert script.unknown in _texts(unknown) and "2026-11-01" in _texts(unknown)
    assert "hotline.start" in [p for b in unknown for p in reply_payloads(b)]

    # A hotline by country named in the message.
    _chosen(live, f"{lang}-hotline", script)
    assert reply_text(say("hotline", script.hotline_thailand)[-1]) == t("hotline.need", lang)
    numbers = reply_text(tap("hotline", "hotline.lookup|purpose=all")[0])
    assert t("country.TH", lang) in numbers and "1300" in numbers and "191" in numbers

    # Each safe-migration tips topic, asked in words (a question: telling of unpaid overtime
    # is a concern, answered with the problem named and a person offered).
    _chosen(live, f"{lang}-tips", script)
    for topic in TOPICS:
        assert reply_text(say("tips", script.tips[topic])[0]) == t(f"tips.{topic}", lang), topic

    # Urgent help: the question "where are you" at once, and a case for the hotline staff.
    _chosen(live, f"{lang}-urgent", script)
    assert reply_text(say("urgent", script.urgent)[-1]) == t("urgent.where", lang)
    with live.db.sessions() as session:
        user = session.scalars(select(User).where(User.address == f"{lang}-urgent")).one()
        case = session.scalars(select(Case).where(Case.user_id == user.id)).one()
        assert (case.priority, case.status, case.language) == ("urgent", "open", lang)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_zawgyi_message_answered_in_unicode_burmese(live: RunningBot, t: Translator) -> None:
    live.tap("zawgyi", "start.privacy|lang=my")
    replies = live.say("zawgyi", "ပတ္စပို႔ ယူထားတယ္ ကယ္ပါ")  # "they took my passport, help"
    answer = _texts(replies)
    assert t("urgent.where", "my") in answer
    assert ZawgyiDetector().get_zawgyi_probability(answer) < 0.05
