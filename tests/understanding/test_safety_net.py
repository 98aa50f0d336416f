"""The urgent-help safety net: recall on the held-out files, robustness, few false alarms,
indicators, and no alarm on questions, negations or topic words said of someone else."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding.evaluation import load_examples
from bot.understanding.normalize import normalize
from bot.understanding.safety_net import Alarm, default_safety_net
from bot.vocabulary import Indicator, Risk

TESTS = Path(__file__).resolve().parents[2] / "nlu" / "tests"
HELDOUT = TESTS / "heldout.jsonl"
DISTRESS = TESTS / "distress_heldout.jsonl"


def alarm(text: str) -> Alarm | None:
    return default_safety_net().alarm(normalize(text).text)


def flagged(text: str) -> bool:
    """Whether the floor catches the message (urgent, or a concern such as documents kept)."""
    return alarm(text) is not None


def test_recall_on_heldout_urgent_lines_all_languages_and_zawgyi() -> None:
    urgent = [e for e in load_examples(HELDOUT) if e.intent == "urgent_help"]
    assert {e.lang for e in urgent} == {"en", "my", "km", "bn"}
    assert any(e.variant == "zawgyi" for e in urgent)
    missed = [e.text for e in urgent if not flagged(e.text)]
    assert len(missed) / len(urgent) <= 0.02, missed


def test_false_alarms_on_heldout_stay_rare() -> None:
    calm = [e for e in load_examples(HELDOUT) if e.intent != "urgent_help"]
    alarms = [e.text for e in calm if flagged(e.text)]
    assert len(alarms) / len(calm) <= 0.02, alarms


@pytest.mark.parametrize(
    "text",
    [
        "my boss took my passport",
        "MY BOSS TOOK MY PASSPORT!!!",
        "boss kept my pasport and i cant go",
        "they forsed me to work",  # misspelt
        "i was soldd to another employer, i want to escape",
        "ပတ်စပို့ကို ယူ ထား တယ်",  # spaced out
        "ကျွန်မကိုအလုပ်ရှင်ကအိမ်ထဲမှာပိတ်ထားတယ်",
        "ကြၽန္မကိုအလုပ္ရွင္ကအိမ္ထဲမွာပိတ္ထားတယ္",  # Zawgyi
        "ថៅកែយកលិខិតឆ្លងដែនខ្ញុំ",
        "ថៅកែ យក លិខិត ឆ្លង ដែន ខ្ញុំ",
        "মালিক পাসপোর্ট নিয়ে নিয়েছে",
        "আমাকে ঘরে আটকে রেখেছে",
        "malik passport niye nise",
        "amake bachan",
    ],
)
def test_urgent_messages_are_flagged(text: str) -> None:
    assert flagged(text)


@pytest.mark.parametrize(
    "text",
    [
        "help",
        "menu",
        "how do i get a passport",
        "should i keep a copy of my passport",
        "helpline number please",
        "আমারে একটা নম্বর দেন",  # মারে ("beats") inside আমারে ("to me")
        "ပတ်စပို့ မိတ္တူ သိမ်းထားသင့်လား",
        "စာချုပ်ထားတယ်",
        "លេខទូរស័ព្ទបន្ទាន់",
    ],
)
def test_ordinary_messages_are_not_flagged(text: str) -> None:
    assert not flagged(text)


def test_no_alarm_on_the_informational_distress_lines() -> None:
    calm = [e for e in load_examples(DISTRESS) if e.level is Risk.NONE]
    assert len(calm) >= 60
    assert [e.text for e in calm if flagged(e.text)] == []


@pytest.mark.parametrize(
    "text",
    [
        "what is trafficking",
        "how to avoid trafficking when i go to thailand",
        "is it legal the agency keep my passport before i leave",
        "ok so like wat",
        "they dont beat me, boss is kind",
        "my boss never hit me",
        "trafficking is a big problem in the region",  # nobody in a trafficking situation
        "လူကုန်ကူးမှု ဆိုတာ ဘာလဲ",
        "ကျွန်မကို မရိုက်ဘူး",
        "ការជួញដូរមនុស្សគឺជាអ្វី",
        "គេមិនវាយខ្ញុំទេ",
        "মানব পাচার কি",
        "মালিক মারে না",
        "amake mare na",
    ],
)
def test_questions_negations_and_other_peoples_topics_do_not_fire(text: str) -> None:
    assert alarm(text) is None


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("the boss beats me", Indicator.VIOLENCE),
        ("i was trafficked to this farm", None),
        ("they locked me in the room", Indicator.RESTRICTION_OF_MOVEMENT),
        ("ကျွန်မရိုက်ခံရတယ်", Indicator.VIOLENCE),  # ကျွန်မ "I" is not the negation မ
        ("ခြိမ်းခြောက်တယ်", Indicator.INTIMIDATION),
        ("គេវាយខ្ញុំ", Indicator.VIOLENCE),
        ("মালিক মারে", Indicator.VIOLENCE),
        ("dalal amake bikri kore dise", Indicator.ABUSE_OF_VULNERABILITY),
        ("im 16 and the agent take me to thailand", Indicator.MINOR),
        ("ခ်ဳပ္ အသက္ ၁၅ ႏွစ္", Indicator.MINOR),  # Zawgyi, Burmese digits
        ("ខ្ញុំអាយុ១៥ ធ្វើការរោងចក្រ", Indicator.MINOR),
        ("আমার বয়স ১৬", Indicator.MINOR),
        ("they force me to scam people", Indicator.FORCED_CRIMINALITY),
    ],
)
def test_situations_are_urgent_with_their_indicator(text: str, indicator: Indicator | None) -> None:
    found = alarm(text)
    assert found is not None and found.risk is Risk.URGENT
    if indicator is not None:
        assert indicator in found.indicators


def test_documents_kept_alone_is_a_concern_taken_away_urgent() -> None:
    for text in ("my boss took my passport", "malik passport niye nise", "ថៅកែយកលិខិតឆ្លងដែនខ្ញុំ"):
        found = alarm(text)
        assert found is not None and found.risk is Risk.URGENT
        assert found.indicators == (Indicator.DOCUMENT_RETENTION,)
    for text in ("the company keeps my passport", "malik passport rekhe dise"):
        found = alarm(text)
        assert found is not None
        assert (found.risk, found.indicators) == (Risk.CONCERN, (Indicator.DOCUMENT_RETENTION,))
    both = alarm("boss took my passport and locked the door")
    assert both is not None and both.risk is Risk.URGENT
    assert set(both.indicators) == {
        Indicator.DOCUMENT_RETENTION,
        Indicator.RESTRICTION_OF_MOVEMENT,
    }
