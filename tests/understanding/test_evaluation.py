"""Scoring: per-language macro-F1, urgent recall and false alarms, confusions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.understanding.evaluation import Example, Outcome, format_report, load_examples, score
from bot.vocabulary import Indicator, Risk


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


def test_risk_matrix_recalls_and_indicator_recall() -> None:
    debt, minor = Indicator.DEBT_BONDAGE, Indicator.MINOR
    examples = [
        Example("a", "urgent_help", "en", risk=Risk.URGENT, indicators=(minor,)),
        Example("b", "urgent_help", "en", risk=Risk.URGENT, indicators=(minor,)),
        Example("c", "info_fees", "en", risk=Risk.CONCERN, indicators=(debt,)),
        Example("d", "info_fees", "en", risk=Risk.CONCERN, indicators=(debt,)),
        Example("e", "info_rights", "en"),  # no risk given: none, as not urgent_help
        Example("f", "info_rights", "en"),
    ]
    outcomes = [
        Outcome("urgent_help", True, "en", Risk.URGENT, (minor,)),
        Outcome("info_fees", False, "en", Risk.CONCERN, (debt,)),  # under-rated
        Outcome("info_fees", False, "en", Risk.CONCERN, (debt,)),
        Outcome("info_fees", False, "en", Risk.NONE),  # missed
        Outcome("urgent_help", True, "en", Risk.URGENT, (minor,)),  # false alarm
        Outcome("info_rights", False, "en"),  # risk derived from `urgent`: none
    ]
    risk = score(examples, outcomes)["risk"]
    assert risk["matrix"]["urgent"] == {"urgent": 1, "concern": 1, "none": 0}
    assert risk["matrix"]["concern"] == {"urgent": 0, "concern": 1, "none": 1}
    assert risk["matrix"]["none"] == {"urgent": 1, "concern": 0, "none": 1}
    assert (risk["urgent_recall"], risk["distress_recall"], risk["calm_flagged_urgent"]) == (
        0.5,
        0.75,
        0.5,
    )
    assert risk["indicators"] == {
        "debt_bondage": {"recall": 0.5, "support": 2},
        "minor": {"recall": 0.5, "support": 2},
    }
    assert risk["calm_flagged"] == ["e"]
    text = format_report(score(examples, outcomes))
    assert "urgent + concern recall: 0.750" in text and "debt_bondage" in text


def test_load_examples_reads_risk_and_indicators(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [
        {"text": "x", "intent": "info_fees", "risk": "concern", "indicators": ["debt_bondage"]},
        {"text": "y", "intent": "urgent_help"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    first, second = load_examples(path)
    assert (first.level, first.indicators) == (Risk.CONCERN, (Indicator.DEBT_BONDAGE,))
    assert (second.risk, second.level, second.indicators) == (None, Risk.URGENT, ())
