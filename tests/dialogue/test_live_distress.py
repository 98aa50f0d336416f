"""Issue 9 end to end: signed webhooks, the real Rasa server (distress model), the flows, the
outbox and the fake platform API, in English, Burmese, Khmer and Bengali.

Every line goes through normalization, the trained model and the safety net: a debt is a
concern with a person offered, a minor gets a child helpline and an urgent case, a question
about trafficking gets information and no case, a question typed at a prompt is answered, a
licence number inside a sentence is found in any digit script, and a name sharing only generic
words with licensed agencies gets no "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.db.models import Case, User
from bot.dialogue.i18n import Translator
from bot.services.seed import seed_if_empty
from tests.fixtures.bot import BotFactory, RunningBot, reply_payloads, reply_text


@dataclass(frozen=True)
class Script:
    lang: str
    channel: str
    debt: str  # debt bondage, no danger now
    minor: str  # someone under 18 being recruited
    what_is_trafficking: str
    fees_question: str  # typed at the agency prompt
    documents_question: str  # typed at the country prompt
    contract_question: str  # typed at the "what do you need" prompt
    licence_sentence: str  # RL-1024 inside a sentence, in the script's own digits
    generic_name: str  # shares only generic words with licensed agencies


SCRIPTS = [
    Script(
        lang="en",
        channel="messenger",
        debt="broker say i can only go home after i pay back the debt",
        minor="im 15 and the agent say he make my age bigger in passport",
        what_is_trafficking="what is trafficking",
        fees_question="how much can the agent charge me",
        documents_question="what papers do i need to work abroad",
        contract_question="what should my work contract say",
        licence_sentence="pls check licence RL 1024 is it real",
        generic_name="Nowhere Overseas Manpower Ltd",
    ),
    Script(
        lang="my",
        channel="viber",
        debt="လစာထဲက အကြွေး ဖြတ်နေတာ ဘယ်တော့မှ မကုန်ဘူး",
        minor="ကျွန်မ အသက် ၁၅ နှစ်ပဲ ရှိသေးတယ် အေးဂျင့်က ပတ်စ်ပို့မှာ အသက်တိုးပေးမယ်တဲ့",
        what_is_trafficking="လူကုန်ကူးခြင်းဆိုတာ ဘာလဲ သိချင်လို့",
        fees_question="ပွဲစားခ ဘယ်လောက်ပေးရမလဲ",
        documents_question="နိုင်ငံခြားသွားဖို့ ဘာစာရွက်စာတမ်းတွေ လိုလဲ",
        contract_question="အလုပ်စာချုပ်မှာ ဘာတွေပါရမလဲ",
        licence_sentence="ဒီအေဂျင်စီ လိုင်စင် ၁၀၂၄ စစ်ပေးပါ",
        generic_name="ညီညီ မန်ပါဝါ အေဂျင်စီ",
    ),
    Script(
        lang="km",
        channel="viber",
        debt="មេខ្យល់ថាខ្ញុំអាចត្រឡប់ទៅផ្ទះបាន លុះត្រាតែសងបំណុលរួច",
        minor="ខ្ញុំអាយុ១៥ឆ្នាំ ភ្នាក់ងារថានឹងដាក់អាយុច្រើនក្នុងលិខិតឆ្លងដែន",
        what_is_trafficking="ការជួញដូរមនុស្សគឺជាអ្វី",
        fees_question="មេខ្យល់យកថ្លៃប៉ុន្មាន",
        documents_question="ទៅធ្វើការក្រៅប្រទេសត្រូវការឯកសារអ្វីខ្លះ",
        contract_question="កិច្ចសន្យាការងារត្រូវមានអ្វីខ្លះ",
        licence_sentence="សូមពិនិត្យអាជ្ញាប័ណ្ណលេខ ១០២៤",
        generic_name="ពន្លឺ ម៉ែនផៅវ័រ",
    ),
    Script(
        lang="bn",
        channel="messenger",
        debt="দালাল বলছে ঋণ শোধ না করলে দেশে ফিরতে দিবে না",
        minor="আমার বয়স ১৫ দালাল বলছে পাসপোর্টে বয়স বাড়িয়ে দিবে",
        what_is_trafficking="মানব পাচার কি",
        fees_question="দালাল কত টাকা নিতে পারে",
        documents_question="বিদেশ যেতে কি কি কাগজ লাগবে",
        contract_question="চুক্তিপত্রে কি লেখা থাকা দরকার",
        licence_sentence="আরএল ১০২৪ লাইসেন্স চেক করুন",
        generic_name="ফেক ওভারসিজ লিমিটেড",
    ),
]
CHILD_HELPLINES = {"BD": "1098", "KH": "1280", "TH": "1387"}


@pytest.fixture
def live(make_bot: BotFactory, rasa_server: str) -> Iterator[RunningBot]:
    """The app with the real NLU server (a generous timeout: no keyword fallback here)."""
    with make_bot(RASA_URL=rasa_server, NLU_TIMEOUT_SECONDS=30.0) as running:
        with running.db.session() as session:
            seed_if_empty(session)
        yield running


def _texts(bodies: list[dict]) -> str:
    return "\n".join(reply_text(b) for b in bodies)


def _payloads(bodies: list[dict]) -> list[str]:
    return [p for b in bodies for p in reply_payloads(b)]


def _cases(bot: RunningBot, address: str) -> list[Case]:
    with bot.db.sessions() as session:
        return list(
            session.scalars(
                select(Case).join(User, User.id == Case.user_id).where(User.address == address)
            )
        )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.lang for s in SCRIPTS])
def test_distress_and_prompts(live: RunningBot, t: Translator, script: Script) -> None:
    lang, channel = script.lang, script.channel

    def user(name: str) -> str:
        address = f"{lang}-{name}"
        live.tap(address, f"start.privacy|lang={lang}", channel)
        return address

    def say(address: str, text: str) -> list[dict]:
        return live.say(address, text, channel)

    # Debt bondage: the problem named without blame, its card, a person offered; no case yet.
    debt = user("debt")
    answer = say(debt, script.debt)
    problem = t("distress.problem.debt_bondage", lang)
    assert reply_text(answer[0]) == t("distress.concern", lang, problem=problem), _texts(answer)
    assert reply_text(answer[-1]) == t("distress.offer_person", lang)
    assert "human.start" in _payloads(answer)
    assert _cases(live, debt) == []
    accepted = live.tap(debt, "human.start", channel)
    assert reply_text(accepted[-1]).startswith(t("handover.opened", lang, expect="").strip())
    [case] = _cases(live, debt)
    assert (case.priority, "debt_bondage" in case.indicators) == ("normal", True)

    # A minor: an urgent case at once, and a child helpline where one is listed.
    minor = user("minor")
    answer = say(minor, script.minor)
    assert reply_text(answer[-1]) == t("distress.minor_where", lang), _texts(answer)
    [case] = _cases(live, minor)
    assert (case.priority, case.trigger, "minor" in case.indicators) == ("urgent", "minor", True)
    country = {"my": "TH", "km": "KH", "bn": "BD", "en": "TH"}[lang]
    numbers = live.tap(minor, f"distress.numbers|country={country}", channel)
    assert CHILD_HELPLINES[country] in reply_text(numbers[0])

    # A question about trafficking itself: information, and nobody is alerted.
    curious = user("curious")
    answer = say(curious, script.what_is_trafficking)
    cards = {t(f"tips.{c}", lang) for c in ("rights", "job_offer", "trafficking")}
    assert reply_text(answer[0]) in cards, _texts(answer)
    assert _cases(live, curious) == []

    # A question typed at each prompt is answered, not taken as the answer.
    asker = user("asker")
    assert reply_text(live.tap(asker, "agency.ask|query=", channel)[-1]) == t("agency.ask", lang)
    assert reply_text(say(asker, script.fees_question)[0]) == t("tips.fees", lang)
    live.tap(asker, "hotline.other_country", channel)
    assert reply_text(say(asker, script.documents_question)[0]) == t("tips.documents", lang)
    live.tap(asker, "hotline.need|country=TH", channel)
    assert reply_text(say(asker, script.contract_question)[0]) == t("tips.contract", lang)

    # A licence number inside a sentence, in the script's own digits.
    checker = user("checker")
    live.tap(checker, "agency.ask|query=", channel)
    found = _texts(say(checker, script.licence_sentence))
    assert "Sample Overseas" in found and t("agency.still_check", lang) in found, found

    # A name that shares only "Overseas", "Manpower", "Ltd"... with licensed agencies.
    generic = user("generic")
    live.tap(generic, "agency.ask|query=", channel)
    answer = say(generic, script.generic_name)
    assert t("agency.did_you_mean", lang, candidates="").strip()[:15] not in _texts(answer)
    assert not [p for p in _payloads(answer) if p.startswith("agency.pick")]
    assert t("agency.not_found_next", lang) in _texts(answer), _texts(answer)
