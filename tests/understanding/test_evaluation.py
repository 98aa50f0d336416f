"""Scoring: per-language macro-F1, urgent recall and false alarms, confusions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.understanding.evaluation import Example, Outcome, format_report, load_examples, score


def test_scores_per_language_and_urgent() -> None:
    examples = [
        Example("a", "greet", "en"),
        Example("b", "greet", "en"),
        Example("c", "urgent_help", "en"),
        Example("d", "menu", "my"),
        Example("e", "urgent_help", "my", "zawgyi"),
    ]
    outcomes = [
        Outcome("greet", False),
        Outcome("menu", False),
        Outcome("urgent_help", True),
        Outcome("menu", False),
        Outcome("menu", True),  # wrong intent, but the urgent flag was raised
    ]
    report = score(examples, outcomes)
    en = report["languages"]["en"]
    # greet: P=1 R=0.5 F1=2/3; urgent_help: F1=1 -> macro 5/6
    assert en["macro_f1"] == pytest.approx(5 / 6)
    assert report["languages"]["my"]["per_intent"]["menu"]["precision"] == pytest.approx(0.5)
    assert report["urgent"]["recall"] == 1.0
    assert report["urgent"]["false_alarm_rate"] == 0.0
    assert report["variants"]["my:zawgyi"]["n"] == 1
    assert report["confusions"][0] == {"gold": "greet", "predicted": "menu", "count": 1}
    assert "urgent recall: 1.000" in format_report(report)


def test_missed_urgent_lines_are_listed() -> None:
    report = score([Example("help", "urgent_help", "en")], [Outcome("menu", False)])
    assert report["urgent"]["recall"] == 0.0
    assert report["urgent"]["missed"] == ["help"]


def test_load_examples_requires_text_and_intent(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"text": "hi", "intent": "greet"}) + "\n\n")
    assert load_examples(good) == [Example("hi", "greet")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "hi"}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_examples(bad)
