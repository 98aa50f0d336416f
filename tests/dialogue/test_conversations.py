"""The scripted conversations of issue 4, in each language, at engine level.

NLU results are hand-built `Parse` objects; the same scripts run end to end through the
webhook and the Rasa server in the pipeline tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from myanmartools import ZawgyiDetector
from sqlalchemy import select

from bot.db.models import Case
from bot.dialogue.i18n import Translator
from bot.services.crypto import decrypt
from tests.dialogue.chat import Chat, payloads, texts


@dataclass(frozen=True)
class Script:
    lang: str
    hello: str  # a greeting typed in this language
    licence: str  # a licence number as people write it in this language
    licensed: str  # the agency it belongs to
    fuzzy: str  # a misspelled or transliterated name
    fuzzy_match: str
    unknown: str


SCRIPTS = [
    Script(
        "en",
        "hi",
        "rl 1024",
        "Sample Overseas Ltd",
        "Golden Brige",
        "Golden Bridge",
        "Nowhere Jobs Ltd",
    ),
    Script(
        "bn",
        "হ্যালো",
        "আরএল ১০২৪",
        "Sample Overseas Ltd",
        "গোল্ডেন ব্রিজ",
        "Golden Bridge",
        "কাল্পনিক এজেন্সি",
    ),
    Script(
        "my",
        "မင်္ဂလာပါ",
        "OEA-၁၀၁",
        "Sample Golden Land",
        "ရွှေမြေ အေဂျင်စ",
        "Golden Land",
        "မရှိတဲ့ အေဂျင်စီ",
    ),
    Script(
        "km",
        "សួស្តី",
        "PRA-០១២",
        "Sample Angkor Manpower",
        "អង្គរ ម៉ែនផៅ",
        "Angkor Manpower",
        "ភ្នាក់ងារគ្មាន",
    ),
]
ids = [s.lang for s in SCRIPTS]


def _chosen(chat: Chat, script: Script) -> None:
    """A user who has already picked their language."""
    chat.say(script.hello, "greet", lang=script.lang)
    chat.tap(f"start.privacy|lang={script.lang}")


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_first_contact(chat: Chat, t: Translator, script: Script) -> None:
    first = chat.say(script.hello, "greet", lang=script.lang)
    assert t("start.hello", script.lang) in texts(first)
    assert payloads(first) == [f"start.privacy|lang={code}" for code in ("my", "km", "bn", "en")]
    titles = [c.title for c in first[-1].choices]
    assert titles == ["မြန်မာ", "ខ្មែរ", "বাংলা", "English"]

    then = chat.tap(f"start.privacy|lang={script.lang}")
    assert then[0].text == t("privacy.notice", script.lang)
    assert len(then[0].text.splitlines()) == 2
    assert then[-1].text == t("menu.prompt", script.lang)
    assert [c.title for c in then[-1].choices][:4] == [
        t(f"menu.{k}", script.lang) for k in ("agency", "hotline", "tips", "person")
    ]
    assert chat.user().language == script.lang


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_licence_number_found(chat: Chat, t: Translator, script: Script) -> None:
    _chosen(chat, script)
    replies = chat.say(
        script.licence,
        "check_recruiter",
        lang=script.lang,
        entities={"licence_number": script.licence},
    )
    body = texts(replies)
    assert replies[0].text == t("registry.sample", script.lang), "sample data says so first"
    assert script.licensed in body
    assert "2026-11-01" in body, "the list's retrieved date"
    assert t("agency.still_check", script.lang) in body
    assert "safe" not in body.lower().replace("safestep", "")


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_name_found_by_fuzzy_match(chat: Chat, t: Translator, script: Script) -> None:
    _chosen(chat, script)
    asked = chat.say("check an agency", "check_recruiter", lang=script.lang)
    assert asked[-1].text == t("agency.ask", script.lang)
    replies = chat.say(script.fuzzy, "out_of_scope", 0.2, lang=script.lang)
    body = texts(replies)
    if replies[0].text.startswith(t("agency.did_you_mean", script.lang, candidates="")):
        assert script.fuzzy_match in replies[0].text, "full names listed in the message"
        picks = [c for c in replies[0].choices if script.fuzzy_match.split()[0] in c.title]
        assert picks and len(replies[0].choices) <= 4
        body = texts(chat.tap(picks[0].payload))
    assert script.fuzzy_match in body
    assert t("registry.sample", script.lang) in body


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_unknown_agency(chat: Chat, t: Translator, script: Script) -> None:
    _chosen(chat, script)
    chat.tap("agency.ask|query=")
    replies = chat.say(script.unknown, "out_of_scope", 0.1, lang=script.lang)
    body = texts(replies)
    assert script.unknown in body
    assert "2026-11-01" in body, "not in the list we have, last updated DATE"
    assert t("agency.not_found_next", script.lang) in body
    assert "hotline.start" in payloads(replies)


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_hotline_by_country(chat: Chat, t: Translator, script: Script) -> None:
    _chosen(chat, script)
    asked = chat.say(
        "hotline in thailand", "find_hotline", lang=script.lang, entities={"country": "TH"}
    )
    assert asked[-1].text == t("hotline.need", script.lang)
    replies = chat.tap("hotline.lookup|purpose=all")
    numbers = replies[0]
    country = t("country.TH", script.lang)
    assert numbers.text.startswith(t("hotline.found", script.lang, country_name=country, lines=""))
    for number in ("191", "1300", "1694"):
        assert number in numbers.text
    assert t("hotline.unverified", script.lang) in numbers.text, "when it was last verified"
    assert t("spoken.my", script.lang) in numbers.text, "languages spoken"
    assert [b.kind for b in numbers.buttons] == ["call", "call", "call"]
    assert chat.user().country == "TH"


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
@pytest.mark.parametrize("topic", ["documents", "fees", "contract", "rights", "job_offer"])
def test_each_tips_topic(chat: Chat, t: Translator, script: Script, topic: str) -> None:
    _chosen(chat, script)
    replies = chat.say("tip", f"info_{topic}", lang=script.lang)
    assert replies[0].text == t(f"tips.{topic}", script.lang)
    action, more = replies[0].choices
    assert more.payload == "tips.menu"
    assert action.payload.split("|")[0] in ("agency.ask", "hotline.start", "human.start")


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_urgent_help_creates_a_case(chat: Chat, t: Translator, script: Script) -> None:
    _chosen(chat, script)
    first = chat.say("help me", "urgent_help", lang=script.lang, urgent=True)
    assert first[-1].text == t("urgent.where", script.lang), "one tap to say where"
    with chat.db.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.priority, case.trigger, case.status) == ("urgent", "urgent_help", "open")
        assert decrypt(case.messages[0].text_enc) == "help me"
    numbers = chat.tap("urgent.numbers|country=MY")
    assert "999" in numbers[0].text and "03-8000 8000" in numbers[0].text
    assert "+60380008000" in [b.value for b in numbers[0].buttons]
    assert numbers[-1].text == t("urgent.promise", script.lang)


def test_urgent_with_known_country_sends_numbers_at_once(chat: Chat, t: Translator) -> None:
    replies = chat.say(
        "they locked me in", "urgent_help", lang="km", urgent=True, entities={"country": "KH"}
    )
    assert "1288" in replies[0].text and "117" in replies[0].text
    assert replies[-1].text == t("urgent.promise", "km")


def test_zawgyi_message_answered_in_unicode_burmese(chat: Chat, t: Translator) -> None:
    zawgyi, unicode = "ပတ္စပို႔ ယူထားတယ္", "ပတ်စ်ပို့ ယူထားတယ်"
    replies = chat.say(
        zawgyi, "urgent_help", lang="my", urgent=True, normalized=unicode, was_zawgyi=True,
        entities={"country": "TH"},
    )  # fmt: skip
    assert replies[-1].text == t("urgent.promise", "my")
    assert ZawgyiDetector().get_zawgyi_probability(texts(replies)) < 0.05
    with chat.db.sessions() as session:
        line = session.scalars(select(Case)).one().messages[0]
        assert decrypt(line.text_enc) == unicode
        assert decrypt(line.original_enc) == zawgyi
