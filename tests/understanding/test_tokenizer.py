"""The script-aware tokenizer: exact substrings, in order, with correct offsets.

The segmentation logic (nlu/components/segment.py) needs only ICU and `regex`, so it is
tested here directly; one test also runs the Rasa component itself in the NLU environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.understanding import nlu_env

sys.path.insert(0, str(nlu_env.NLU_DIR))
from components.segment import ascii_digits, segment

SAMPLES = [
    "ကျွန်မကိုအလုပ်ရှင်ကအိမ်ထဲမှာပိတ်ထားတယ်",
    "ខ្ញុំត្រូវគេយកលិខិតឆ្លងដែន!!",
    "আমার পাসপোর্ট নিয়ে নিছে, help!!",
    "agent RL-1234 ok? 😀 passportကိုယူထား",
    "  ကိုရီးယား၂၀၂၄ 🙏🏽 ខ្ញុំចង់ទៅធ្វើការនៅថៃ ១២៣៤ ",
    "র\u200d্যাব 𝐁𝐨𝐥𝐝 text",
    "!!! ...",
]


@pytest.mark.parametrize("mode", ["word", "syllable"])
@pytest.mark.parametrize("text", SAMPLES)
def test_tokens_are_ordered_non_overlapping_substrings(text: str, mode: str) -> None:
    spans = segment(text, mode)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        previous_end = end
    # Nothing with letters or digits is lost.
    covered = "".join(text[a:b] for a, b in spans)
    letters = [c for c in text if c.isalnum()]
    assert [c for c in covered if c.isalnum()] == letters


def test_burmese_words_follow_the_dictionary() -> None:
    text = "ကျွန်မကိုအလုပ်ရှင်ကအိမ်ထဲမှာပိတ်ထားတယ်"
    words = [text[a:b] for a, b in segment(text, "word")]
    assert words == ["ကျွန်မ", "ကို", "အလုပ်ရှင်", "က", "အိမ်", "ထဲ", "မှာ", "ပိတ်", "ထား", "တယ်"]


def test_burmese_syllables() -> None:
    text = "ကျွန်မကိုအလုပ်ရှင်"
    syllables = [text[a:b] for a, b in segment(text, "syllable")]
    assert syllables == ["ကျွန်", "မ", "ကို", "အ", "လုပ်", "ရှင်"]


def test_khmer_words_and_syllables() -> None:
    text = "ខ្ញុំចង់ទៅធ្វើការនៅថៃ"
    assert [text[a:b] for a, b in segment(text, "word")] == [
        "ខ្ញុំ",
        "ចង់ទៅ",
        "ធ្វើការ",
        "នៅ",
        "ថៃ",
    ]
    assert [text[a:b] for a, b in segment(text, "syllable")] == [
        "ខ្ញុំ",
        "ចង់",
        "ទៅ",
        "ធ្វើ",
        "ការ",
        "នៅ",
        "ថៃ",
    ]


def test_bengali_and_latin_split_on_spaces_without_punctuation() -> None:
    text = "আমার পাসপোর্ট নিয়ে নিছে, help!!"
    assert [text[a:b] for a, b in segment(text, "word")] == [
        "আমার",
        "পাসপোর্ট",
        "নিয়ে",
        "নিছে",
        "help",
    ]


def test_offsets_survive_characters_outside_the_bmp() -> None:
    # ICU counts UTF-16 units: an emoji before Burmese must not shift the offsets.
    plain = "ကျွန်မကိုအလုပ်ရှင်"
    text = "😀😀" + plain
    shifted = [(a - 2, b - 2) for a, b in segment(text, "word")]
    assert shifted == segment(plain, "word")
    assert [text[a:b] for a, b in segment(text, "word")] == ["ကျွန်မ", "ကို", "အလုပ်ရှင်"]


def test_digits_normalize_for_features() -> None:
    assert ascii_digits("၂၀၂၄ ១២៣ ৪৫") == "2024 123 45"


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        segment("hi", "characters")


def test_rasa_component_tokenizes_with_offsets_and_ascii_digit_lemmas() -> None:
    """The real ScriptTokenizer inside the NLU environment (Python 3.10, Rasa 3.6)."""
    rasa = nlu_env.ensure_env()
    script = textwrap.dedent(
        """
        import json, sys
        from rasa.shared.nlu.training_data.message import Message
        from components.script_tokenizer import ScriptTokenizer
        tokenizer = ScriptTokenizer(ScriptTokenizer.get_default_config())
        out = []
        for text in json.loads(sys.stdin.read()):
            tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
            out.append([[t.text, t.start, t.end, t.lemma] for t in tokens])
        print(json.dumps(out))
        """
    )
    texts = ["လိုင်စင် ၁၂၃၄ စစ်ပေးပါ", "ខ្ញុំចង់ទៅថៃ", "RL-1234 OK", "!!!"]
    result = subprocess.run(
        [str(Path(rasa).parent / "python"), "-c", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=nlu_env.NLU_DIR,
        env=nlu_env.rasa_env(),
        timeout=300,
    )
    tokenized = json.loads(result.stdout.strip().splitlines()[-1])
    for text, tokens in zip(texts, tokenized, strict=True):
        for token_text, start, end, lemma in tokens:
            assert text[start:end] == token_text
            assert lemma == ascii_digits(token_text).lower()
    assert [t[0] for t in tokenized[0]] == ["လိုင်စင်", "၁၂၃၄", "စစ်", "ပေး", "ပါ"]
    assert tokenized[0][1][3] == "1234"
    assert [t[3] for t in tokenized[2]] == ["rl-1234", "ok"]
    assert [t[0] for t in tokenized[3]] == ["!!!"]  # nothing to split: the whole text
