"""Text normalization before any classifier sees a message.

Everything here is a pure function of the text: Unicode NFC, invisible characters dropped,
Zawgyi-encoded Burmese converted to Unicode, native digits made ASCII, and the script the
message is written in. The classifier, the keyword router and the safety net all read the
normalized form, so a message scores the same whatever its encoding.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import icu
import regex
from myanmartools import ZawgyiDetector

# Above this probability a Burmese message is treated as Zawgyi. Short messages are where
# the detector hesitates (measured on the held-out set: some short Zawgyi greetings score
# 0.2-0.9, some Unicode ones 0.98), so spellings that are impossible in Unicode also count
# as proof, and a message counts as converted only when conversion changed it.
ZAWGYI_THRESHOLD = 0.95
# Impossible in Unicode Burmese, routine in Zawgyi: virama U+1039 not followed by a consonant
# (Zawgyi's asat), vowel sign E U+1031 not after a consonant or medial (Zawgyi stores it in
# visual order, before the consonant), and the
# U+1060-U+1097 block that Zawgyi reuses for stacked and variant forms.
_ZAWGYI_ONLY = regex.compile(
    r"\u1039(?![\u1000-\u1021])|(?<![\u1000-\u102A\u103B-\u103F\u1050-\u105D])\u1031"
    r"|[\u1060-\u1097]"
)

# ZWSP, word joiner, BOM, soft hyphen, bidi marks: never meaningful in a chat message.
_ALWAYS_INVISIBLE = regex.compile(r"[\u200B\u2060\uFEFF\u00AD\u200E\u200F\u202A-\u202E]")
# ZWNJ/ZWJ only carry meaning inside Bengali conjuncts (র‍্য) and emoji sequences; elsewhere
# (between Burmese or Khmer syllables, around Latin words) they only break matching.
_JOINERS = regex.compile(
    r"(?<![\u0980-\u09FF\p{Extended_Pictographic}])[\u200C\u200D]"
    r"|[\u200C\u200D](?![\u0980-\u09FF\p{Extended_Pictographic}])"
)
_SPACES = regex.compile(r"[ \t\u00A0\u2000-\u200A\u202F\u205F\u3000]+")
_DIGITS = str.maketrans("၀၁၂၃၄၅၆၇၈၉០១២៣៤៥៦៧៨៩০১২৩৪৫৬৭৮৯", "012345678901234567890123456789")
_MYANMAR = regex.compile(r"[\u1000-\u109F\uA9E0-\uA9FF\uAA60-\uAA7F]")
_SCRIPTS = {
    "my": _MYANMAR,
    "km": regex.compile(r"[\u1780-\u17FF\u19E0-\u19FF]"),
    "bn": regex.compile(r"[\u0980-\u09FF]"),
    "en": regex.compile(r"[A-Za-z]"),
}
# Frequent Banglish words that are not English: enough of them marks a Latin message as Bengali.
_BANGLISH = frozenset(
    str.split(
        """ami amar amake apni apnar tumi tomar ache achi achen nai nei kivabe kemon koto ki kina
    kore korbo korte koren bhai bhaiya apu dada taka lagbe chai jabo jete dey dite hobe pari
    parbo na kotha bolbo bolte sathe dhonnobad shukriya kagoj chakri dalal malik beton odhikar
    chukti khoroch tottho muche bachan bachao atke rekhe niye nise dise bipode palate jay jai
    desh dese khub onek ekhon keno kothay kar kake theke thik achhe acche hafez hafiz dekhan
    dekhao dekhen bangla banglay dibo diben bhasha bodlao bodlan boidho chay kon keu parben
    hoy hoye jonno kintu tahole ekta ekhane amra tomra apnara korun korchi bujhi bujhbo jani
    naki pabo paben shob kaaj bidesh lakh"""
    )
)


@dataclass(frozen=True)
class Normalized:
    """A message as typed and as the classifiers read it."""

    original: str
    text: str
    was_zawgyi: bool
    lang: str | None


@lru_cache(maxsize=1)
def _detector() -> ZawgyiDetector:
    return ZawgyiDetector()


@lru_cache(maxsize=1)
def _zawgyi_to_unicode() -> icu.Transliterator:
    return icu.Transliterator.createInstance("Zawgyi-my")


def zawgyi_probability(text: str) -> float:
    """Probability that the Burmese in `text` is Zawgyi-encoded (0 when there is none)."""
    if not _MYANMAR.search(text):
        return 0.0
    return float(_detector().get_zawgyi_probability(text))


def is_zawgyi(text: str) -> bool:
    return bool(_MYANMAR.search(text)) and (
        bool(_ZAWGYI_ONLY.search(text)) or zawgyi_probability(text) >= ZAWGYI_THRESHOLD
    )


def zawgyi_to_unicode(text: str) -> str:
    return _zawgyi_to_unicode().transliterate(text)


def drop_invisible(text: str) -> str:
    return _JOINERS.sub("", _ALWAYS_INVISIBLE.sub("", text))


def ascii_digits(text: str) -> str:
    """Myanmar, Khmer and Bengali digits as ASCII digits (one for one, offsets unchanged)."""
    return text.translate(_DIGITS)


def detect_script(text: str) -> str | None:
    """The language of the message's script.

    Any Burmese, Khmer or Bengali letters win over Latin ones (migrants mix in English words:
    "agency RL-1234 ဟုတ်လား" is Burmese); Latin text that reads as Banglish is Bengali.
    """
    counts = {lang: len(pattern.findall(text)) for lang, pattern in _SCRIPTS.items()}
    native = max(("my", "km", "bn"), key=lambda lang: counts[lang])
    if counts[native]:
        return native
    if counts["en"]:
        return "bn" if is_banglish(text) else "en"
    return None


def is_banglish(text: str) -> bool:
    words = regex.findall(r"[a-z]+", text.lower())
    hits = sum(word in _BANGLISH for word in words)
    return hits >= 2 or (hits == 1 and len(words) <= 2)


def normalize(text: str) -> Normalized:
    """The one normalization every component relies on."""
    cleaned = drop_invisible(unicodedata.normalize("NFC", text))
    was_zawgyi = False
    if is_zawgyi(cleaned):
        converted = unicodedata.normalize("NFC", zawgyi_to_unicode(cleaned))
        was_zawgyi, cleaned = converted != cleaned, converted
    cleaned = _SPACES.sub(" ", ascii_digits(cleaned)).strip()
    return Normalized(
        original=text, text=cleaned, was_zawgyi=was_zawgyi, lang=detect_script(cleaned)
    )
