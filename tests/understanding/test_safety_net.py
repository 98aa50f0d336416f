"""The urgent-help safety net: recall on the held-out file, robustness, few false alarms."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding.evaluation import load_examples
from bot.understanding.normalize import normalize
from bot.understanding.safety_net import default_safety_net

HELDOUT = Path(__file__).resolve().parents[2] / "nlu" / "tests" / "heldout.jsonl"


def flagged(text: str) -> bool:
    return default_safety_net().is_urgent(normalize(text).text)


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
