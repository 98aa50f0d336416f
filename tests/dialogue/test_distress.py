"""Replies by risk (issue 9), on the real engine, flows, locales and starter data: a concern is
named and a person offered, a minor gets a child helpline and an urgent case, an informational
mention gets information and no case; every case carries the indicators heard."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import Case
from bot.dialogue.i18n import Translator
from bot.vocabulary import Indicator, Risk
from tests.dialogue.chat import Chat, payloads, texts

DEBT = (Indicator.DEBT_BONDAGE,)
MINOR = (Indicator.MINOR, Indicator.DECEPTION)


def _known(chat: Chat, lang: str) -> Chat:
    chat.tap(f"start.privacy|lang={lang}")
    return chat


def _cases(chat: Chat) -> list[Case]:
    with chat.db.sessions() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


@pytest.mark.parametrize("lang", ["en", "my", "km", "bn"])
def test_debt_bondage_is_named_with_its_card_and_a_person_offered(
    chat: Chat, t: Translator, lang: str
) -> None:
    _known(chat, lang)
    replies = chat.say(
        "broker says pay debt first", "info_fees", risk=Risk.CONCERN, indicators=DEBT
    )
    problem = t("distress.problem.debt_bondage", lang)
    assert [r.text for r in replies] == [
        t("distress.concern", lang, problem=problem),
        t("tips.fees", lang),
        t("distress.offer_person", lang),
    ]
    assert payloads(replies)[0] == "human.start"
    assert _cases(chat) == [], "a person is offered, not imposed"

    # "yes" typed: a normal-priority case labelled with what was heard.
    accepted = chat.say("yes", "affirm", 0.9)
    assert accepted[-1].text.startswith(t("handover.opened", lang, expect="").strip())
    [case] = _cases(chat)
    assert (case.priority, case.trigger, case.indicators) == (
        "normal",
        "talk_to_human",
        ["debt_bondage"],
    )


@pytest.mark.parametrize(
    ("indicator", "card"),
    [
        (Indicator.WAGE_WITHHOLDING, "tips.rights"),
        (Indicator.DOCUMENT_RETENTION, "tips.rights"),
        (Indicator.DECEPTION, "tips.contract"),
        (Indicator.FORGED_DOCUMENTS, "tips.documents"),
    ],
)
def test_each_concern_gets_the_card_that_answers_it(
    chat: Chat, t: Translator, indicator: Indicator, card: str
) -> None:
    _known(chat, "en")
    replies = chat.say("…", "out_of_scope", 0.3, risk=Risk.CONCERN, indicators=(indicator,))
    assert t(f"distress.problem.{indicator}", "en") in replies[0].text
    assert replies[1].text == t(card, "en")


def test_a_first_message_of_concern_gets_the_notice_then_the_reply(
    chat: Chat, t: Translator
) -> None:
    replies = chat.say("6 mas beton dey na", "info_rights", lang="bn", risk=Risk.CONCERN,
                       indicators=(Indicator.WAGE_WITHHOLDING,))  # fmt: skip
    assert replies[0].text == t("privacy.notice", "bn")
    assert replies[2].text == t("tips.rights", "bn")


@pytest.mark.parametrize(
    ("lang", "country", "number"),
    [("bn", "BD", "1098"), ("km", "KH", "1280"), ("en", "TH", "1387")],
)
def test_a_minor_gets_a_child_helpline_and_an_urgent_case(
    chat: Chat, t: Translator, lang: str, country: str, number: str
) -> None:
    _known(chat, lang)
    first = chat.say("i am 15 agent make age bigger", "check_recruiter", risk=Risk.CONCERN,
                     indicators=MINOR)  # fmt: skip
    assert first[-1].text == t("distress.minor_where", lang)
    [case] = _cases(chat)
    assert (case.priority, case.trigger) == ("urgent", "minor")
    assert case.indicators == ["deception", "minor"]

    numbers = chat.tap(f"distress.numbers|country={country}")
    assert numbers[0].text.startswith(t("distress.minor_numbers", lang, lines="").strip())
    assert number in numbers[0].text.split("\n\n")[1], "the child helpline comes first"
    assert numbers[0].buttons[0].value == number
    assert numbers[-1].text == t("urgent.promise", lang)


def test_a_minor_where_no_child_helpline_is_listed_gets_the_urgent_numbers(
    chat: Chat, t: Translator
) -> None:
    _known(chat, "my")
    replies = chat.say("၁၅နှစ်", "out_of_scope", 0.2, indicators=(Indicator.MINOR,),
                       entities={"country": "MM"})  # fmt: skip
    assert "199" in replies[0].text and t("distress.minor_numbers", "my", lines="")[:20] in (
        replies[0].text
    )
    assert [c.priority for c in _cases(chat)] == ["urgent"]


@pytest.mark.parametrize("lang", ["en", "my", "km", "bn"])
def test_what_is_trafficking_gets_information_and_no_case(
    chat: Chat, t: Translator, lang: str
) -> None:
    _known(chat, lang)
    # The model files informational questions under their topic, with risk none.
    replies = chat.say("what is trafficking", "info_rights", 0.9)
    assert replies[0].text == t("tips.rights", lang)
    assert _cases(chat) == []
    # The trafficking card itself is one of the tips.
    more = chat.tap("tips.menu")
    assert "tips.trafficking" in payloads(more)
    assert chat.tap("tips.trafficking")[0].text == t("tips.trafficking", lang)


def test_urgent_risk_still_gets_numbers_at_once_with_its_indicators(
    chat: Chat, t: Translator
) -> None:
    _known(chat, "km")
    locked = (Indicator.RESTRICTION_OF_MOVEMENT,)
    replies = chat.say("they lock me", "urgent_help", risk=Risk.URGENT, urgent=True,
                       indicators=locked, entities={"country": "KH"})  # fmt: skip
    assert replies[0].text.startswith(t("urgent.numbers", "km", lines="").strip())
    [case] = _cases(chat)
    assert (case.priority, case.indicators) == ("urgent", ["restriction_of_movement"])


def test_indicators_heard_during_a_case_label_it_and_a_minor_upgrades_it(
    chat: Chat, t: Translator
) -> None:
    _known(chat, "en")
    chat.say("talk to someone", "talk_to_human", 0.9)
    waiting = chat.say("they keep my passport", "info_documents", risk=Risk.CONCERN,
                       indicators=(Indicator.DOCUMENT_RETENTION,))  # fmt: skip
    # A person holds the conversation: the bot only says one will answer, no card.
    [said] = [r.text for r in waiting]
    assert said.startswith(t("handover.waiting", "en", expect="").split("%")[0].split("\n")[0])
    assert _cases(chat)[0].indicators == ["document_retention"]
    chat.say("i am 16", "out_of_scope", 0.4, indicators=(Indicator.MINOR,))
    [case] = _cases(chat)
    assert (case.priority, case.indicators) == ("urgent", ["document_retention", "minor"])


def test_indicators_heard_earlier_label_a_case_opened_later(chat: Chat) -> None:
    _known(chat, "en")
    chat.say("no salary 3 month", "info_rights", risk=Risk.CONCERN,
             indicators=(Indicator.WAGE_WITHHOLDING,))  # fmt: skip
    chat.say("how much can agent charge", "info_fees", 0.9)
    chat.tap("human.start")
    assert _cases(chat)[0].indicators == ["wage_withholding"]


# ---- questions typed at a prompt ---------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "intent", "answer"),
    [
        ("agency.ask|query=", "info_fees", "tips.fees"),
        ("agency.ask|query=", "find_hotline", "hotline.where"),
        ("hotline.start", "info_documents", "tips.documents"),
        ("hotline.other_country", "info_contract", "tips.contract"),
        ("hotline.need|country=TH", "info_job_offer", "tips.job_offer"),
        ("hotline.need|country=TH", "check_recruiter", "agency.ask"),
    ],
)
def test_a_question_at_a_prompt_is_answered_not_taken_as_the_answer(
    chat: Chat, t: Translator, prompt: str, intent: str, answer: str
) -> None:
    _known(chat, "en")
    chat.tap(prompt)
    replies = chat.say("what about this?", intent, 0.9)
    assert replies[0].text == t(answer, "en")


@pytest.mark.parametrize("name", ["Nowhere Jobs Ltd", "ফেক জব এজেন্সি", "Malaysia Contract Co"])
def test_a_name_that_reads_like_a_topic_is_still_a_name(
    chat: Chat, t: Translator, name: str
) -> None:
    _known(chat, "en")
    chat.tap("agency.ask|query=")
    replies = chat.say(name, "info_job_offer", 0.9)
    assert t("agency.not_found_next", "en") in texts(replies)


def test_a_name_at_the_agency_prompt_is_still_a_name(chat: Chat) -> None:
    _known(chat, "en")
    chat.tap("agency.ask|query=")
    assert "Golden Bridge" in texts(chat.say("golden bridge", "check_recruiter", 0.8))
    chat.tap("agency.ask|query=")
    assert "Golden Bridge" in texts(chat.say("golden bridge", "affirm", 0.7))


@pytest.mark.parametrize(
    "sentence",
    ["আরএল ১০২৪ লাইসেন্স চেক করুন", "ဒီအေဂျင်စီ ၁၀၂၄ လိုင်စင်ရှိလား", "សូមពិនិត្យ ១០២៤", "pls chek rl1024 ok"],
)
def test_a_licence_number_inside_a_sentence_in_any_script(chat: Chat, sentence: str) -> None:
    _known(chat, "bn")
    chat.tap("agency.ask|query=")
    # Even read as another request, a number at the agency question is its answer.
    assert "Sample Overseas" in texts(chat.say(sentence, "info_fees", 0.8))
    # Asked straight away, without the question first.
    assert "Sample Overseas" in texts(chat.say(sentence, "check_recruiter", 0.9))


@pytest.mark.parametrize(
    ("typed", "country"),
    [("စင်ကာပူ", "SG"), ("KW", "KW"), ("i work in dubai", "AE"), ("রিয়াদে আছি", "SA")],
)
def test_a_country_typed_at_the_need_step_changes_the_country(
    chat: Chat, t: Translator, typed: str, country: str
) -> None:
    _known(chat, "en")
    chat.tap("hotline.need|country=TH")
    replies = chat.say(typed, "out_of_scope", 0.3)
    assert replies[-1].text == t("hotline.need", "en")
    assert chat.user().country == country


def test_something_else_at_the_need_step_asks_again(chat: Chat, t: Translator) -> None:
    _known(chat, "en")
    chat.tap("hotline.need|country=TH")
    assert chat.say("hmm", "out_of_scope", 0.2)[-1].text == t("hotline.need_again", "en")


def test_a_pasted_job_ad_is_checked_though_it_reads_as_deception(chat: Chat, t: Translator) -> None:
    _known(chat, "en")
    chat.tap("corridors.job_ask")
    ad = "online typing job thailand salary 2000$ no experience contact telegram only"
    replies = chat.say(ad, "info_job_offer", 0.4, risk=Risk.CONCERN,
                       indicators=(Indicator.DECEPTION,))  # fmt: skip
    assert t("corridor.job.what_to_do", "en") in texts(replies)
    assert t("distress.offer_person", "en") not in texts(replies)


def test_danger_outranks_the_job_ad_check(chat: Chat, t: Translator) -> None:
    _known(chat, "en")
    chat.tap("corridors.job_ask")
    replies = chat.say("they lock us in the compound", "urgent_help", 0.9, risk=Risk.URGENT,
                       indicators=(Indicator.RESTRICTION_OF_MOVEMENT,))  # fmt: skip
    assert t("corridor.job.what_to_do", "en") not in texts(replies)
    [case] = _cases(chat)
    assert case.priority == "urgent"
