"""The held-out sets stay held out: no line of them (normalized) is in the training data, and
the distress set's labels use the contract's names and keep its size per variant."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from bot.understanding.base import INTENTS
from bot.understanding.normalize import normalize
from bot.vocabulary import Indicator, Risk

NLU = Path(__file__).resolve().parents[2] / "nlu"
HELDOUT = (NLU / "tests" / "heldout.jsonl", NLU / "tests" / "distress_heldout.jsonl")


def _key(text: str) -> str:
    return " ".join(normalize(text).text.lower().split())


def _training_texts() -> set[str]:
    texts: set[str] = set()
    for path in (NLU / "data").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                if line.strip().startswith("- "):
                    texts.add(_key(line.strip()[2:]))
    return texts


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_no_heldout_line_is_trained_on() -> None:
    training = _training_texts()
    assert len(training) > 1000
    leaked = [r["text"] for path in HELDOUT for r in _rows(path) if _key(r["text"]) in training]
    assert leaked == []


def test_distress_heldout_labels_and_size() -> None:
    rows = _rows(HELDOUT[1])
    per_variant = Counter(f"{r['lang']}:{r.get('variant', 'plain')}" for r in rows)
    assert set(per_variant) == {
        "en:plain",
        "my:plain",
        "my:zawgyi",
        "km:plain",
        "bn:plain",
        "bn:banglish",
    }
    assert min(per_variant.values()) >= 40
    for row in rows:
        assert row["intent"] in INTENTS
        risk = Risk(row["risk"])
        indicators = [Indicator(i) for i in row["indicators"]]
        assert (risk is Risk.URGENT) == (row["intent"] == "urgent_help"), row["text"]
        assert bool(indicators) == (risk is not Risk.NONE), row["text"]


def test_zawgyi_lines_are_real_zawgyi_of_their_unicode_twins() -> None:
    rows = _rows(HELDOUT[1])
    unicode = [r for r in rows if r["lang"] == "my" and "variant" not in r]
    zawgyi = [r for r in rows if r.get("variant") == "zawgyi"]
    assert len(zawgyi) == len(unicode)
    for plain, encoded in zip(unicode, zawgyi, strict=True):
        converted = normalize(encoded["text"])
        assert converted.was_zawgyi and encoded["text"] != plain["text"]
        assert converted.text == normalize(plain["text"]).text
