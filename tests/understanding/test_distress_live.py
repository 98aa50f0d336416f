"""Distress through the real Rasa server and the bot's pipeline (issue 9): the held-out
targets, and the cases people wrote about (indirect debt bondage, a minor, a question about
trafficking, "ok so like wat")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.understanding.evaluation import Outcome, load_examples, score
from bot.understanding.pipeline import NluPipeline
from bot.understanding.rasa_client import RasaClient
from bot.vocabulary import Indicator, Risk

TESTS = Path(__file__).resolve().parents[2] / "nlu" / "tests"


@pytest.fixture
async def pipeline(rasa_server: str) -> AsyncIterator[NluPipeline]:
    nlu = NluPipeline(RasaClient(rasa_server, timeout=10.0))
    yield nlu
    await nlu.aclose()


async def _report(pipeline: NluPipeline, name: str) -> dict:
    examples = load_examples(TESTS / name)
    outcomes = []
    for example in examples:
        parsed = await pipeline.parse(example.text)
        assert parsed.source == "rasa"
        assert parsed.urgent == (parsed.risk is Risk.URGENT)
        outcomes.append(
            Outcome(parsed.intent, parsed.urgent, parsed.lang, parsed.risk, parsed.indicators)
        )
    return score(examples, outcomes)


async def test_distress_heldout_urgent_and_calm_targets(pipeline: NluPipeline) -> None:
    risk = (await _report(pipeline, "distress_heldout.jsonl"))["risk"]
    assert risk["urgent_recall"] >= 0.98, risk["missed"]
    assert risk["calm_flagged_urgent"] <= 0.02, risk["calm_flagged"]


async def test_distress_heldout_concern_and_intent_targets(pipeline: NluPipeline) -> None:
    report = await _report(pipeline, "distress_heldout.jsonl")
    assert report["risk"]["distress_recall"] >= 0.95, report["risk"]["missed"]
    for lang in ("en", "my", "km", "bn"):
        assert report["languages"][lang]["macro_f1"] >= 0.93, (lang, report["languages"][lang])


async def test_general_heldout_keeps_its_intents(pipeline: NluPipeline) -> None:
    report = await _report(pipeline, "heldout.jsonl")
    for lang in ("en", "my", "km", "bn"):
        assert report["languages"][lang]["macro_f1"] >= 0.93, (lang, report["languages"][lang])
    assert report["risk"]["urgent_recall"] >= 0.98, report["risk"]["missed"]
    assert report["risk"]["calm_flagged_urgent"] <= 0.02, report["risk"]["calm_flagged"]


DEBT_BONDAGE = [
    "the agent say i go home only when the debt is paid",
    "ပွဲစားက အကြွေးကျေမှ အိမ်ပြန်လို့ရမယ်တဲ့",
    "មេខ្យល់ថាសងបំណុលអស់សិន ទើបឱ្យទៅផ្ទះ",
    "দালাল বলছে দেনা শোধ হলে তবেই বাড়ি যেতে দিবে",
]


@pytest.mark.parametrize("text", DEBT_BONDAGE)
async def test_debt_bondage_is_a_concern_named_with_the_fees_topic(
    pipeline: NluPipeline, text: str
) -> None:
    parsed = await pipeline.parse(text)
    assert (parsed.risk, parsed.urgent) == (Risk.CONCERN, False), parsed
    assert Indicator.DEBT_BONDAGE in parsed.indicators, parsed
    assert parsed.intent == "info_fees"


@pytest.mark.parametrize(
    "text",
    [
        "i am 15 and the agent will write bigger age in my passport",
        "ကျွန်မ အသက် ၁၅ နှစ်ပဲ ပွဲစားက အသက်ပြင်ပေးမယ်တဲ့",
        "ខ្ញុំទើបអាយុ១៥ មេខ្យល់ថាកែអាយុឱ្យ",
        "আমার বয়স ১৫ দালাল বয়স বাড়িয়ে লিখবে বলছে",
    ],
)
async def test_a_minor_is_urgent(pipeline: NluPipeline, text: str) -> None:
    parsed = await pipeline.parse(text)
    assert (parsed.risk, parsed.intent, parsed.urgent) == (Risk.URGENT, "urgent_help", True)
    assert Indicator.MINOR in parsed.indicators


@pytest.mark.parametrize(
    "text",
    [
        "what is trafficking",
        "ok so like wat",
        "လူကုန်ကူးတာ ဆိုတာ ဘာလဲ",
        "មនុស្សជួញដូរ គឺជាអ្វី",
        "পাচার কাকে বলে",
    ],
)
async def test_questions_about_trafficking_are_not_distress(
    pipeline: NluPipeline, text: str
) -> None:
    parsed = await pipeline.parse(text)
    assert (parsed.risk, parsed.urgent, parsed.indicators) == (Risk.NONE, False, ())
    assert parsed.intent != "urgent_help"
