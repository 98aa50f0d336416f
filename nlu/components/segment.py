"""Script-aware segmentation shared by the tokenizer component and its tests.

Burmese and Khmer write no spaces between words, so a whitespace tokenizer sees a whole
sentence as one token. Each whitespace-separated chunk in those scripts is cut again, either
into dictionary words (ICU's word BreakIterator) or into orthographic syllables (regex); every
other chunk (Bengali, Latin) is kept whole, minus surrounding punctuation. Spans are Python
string offsets into the original text, so tokens are exact substrings, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import icu
import regex

Span = tuple[int, int]

MODES = ("word", "syllable")
_CHUNK = regex.compile(r"\S+")
_CONTENT = regex.compile(r"[\p{L}\p{M}\p{N}]")
_EDGES = regex.compile(r"^[^\p{L}\p{M}\p{N}]+|[^\p{L}\p{M}\p{N}]+$")
_MYANMAR = regex.compile(r"[\u1000-\u109F\uA9E0-\uA9FF\uAA60-\uAA7F]")
_KHMER = regex.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")
# A Burmese syllable starts at a consonant that is neither stacked (after virama U+1039) nor
# killed (before asat U+103A or virama), or at an independent vowel, digit or symbol.
_MY_SYLLABLE_START = regex.compile(
    r"(?<!\u1039)[\u1000-\u1021](?![\u103A\u1039])|[\u1023-\u102A\u103F\u104A-\u104F]"
    r"|(?<![\u1040-\u1049])[\u1040-\u1049]"
)
# A Khmer syllable starts at a consonant or independent vowel not subscripted by coeng U+17D2,
# except a bare consonant right after a vowel sign (ត្រូវ) or before a bantoc-like sign
# (ចង់), which closes the syllable.
_KM_SYLLABLE_START = regex.compile(
    r"(?<!\u17D2)(?<![\u17B6-\u17C5])[\u1780-\u17B3](?![\u17CB-\u17CE])"
    r"|(?<=[\u17B6-\u17C5])[\u1780-\u17B3](?=[\u17B6-\u17D2])"
    r"|(?<![\u17E0-\u17E9])[\u17E0-\u17E9]"
)
_DIGITS = str.maketrans("၀၁၂၃၄၅၆၇၈၉០១២៣៤៥៦៧៨៩০১২৩৪৫৬৭৮৯", "012345678901234567890123456789")


def ascii_digits(text: str) -> str:
    """Myanmar, Khmer and Bengali digits as ASCII (same length, so offsets survive)."""
    return text.translate(_DIGITS)


def _icu_words(chunk: str, locale: str) -> Iterator[Span]:
    """ICU word boundaries in Python offsets (ICU counts UTF-16 code units)."""
    breaker = icu.BreakIterator.createWordInstance(icu.Locale(locale))
    breaker.setText(chunk)
    utf16_to_py: dict[int, int] = {}
    unit = 0
    for index, char in enumerate(chunk):
        utf16_to_py[unit] = index
        unit += 2 if ord(char) > 0xFFFF else 1
    utf16_to_py[unit] = len(chunk)
    start = 0
    for boundary in breaker:
        end = utf16_to_py[boundary]
        yield start, end
        start = end


def _syllables(chunk: str, pattern: regex.Pattern[str]) -> Iterator[Span]:
    cuts = sorted({0, len(chunk), *(m.start() for m in pattern.finditer(chunk))})
    yield from pairwise(cuts)


def _split_chunk(chunk: str, mode: str) -> Iterator[Span]:
    if _MYANMAR.search(chunk):
        locale, pattern = "my", _MY_SYLLABLE_START
    elif _KHMER.search(chunk):
        locale, pattern = "km", _KM_SYLLABLE_START
    else:
        yield 0, len(chunk)
        return
    if mode == "word":
        yield from _icu_words(chunk, locale)
    else:
        # Syllable cuts only inside the Myanmar/Khmer runs; other runs stay whole.
        for start, end in _icu_words(chunk, locale):
            piece = chunk[start:end]
            if (_MYANMAR if locale == "my" else _KHMER).search(piece):
                for a, b in _syllables(piece, pattern):
                    yield start + a, start + b
            else:
                yield start, end


def segment(text: str, mode: str = "word") -> list[Span]:
    """Token spans of `text`: content-bearing pieces, punctuation and emoji dropped."""
    if mode not in MODES:
        raise ValueError(f"unknown segmentation mode {mode!r}; expected one of {MODES}")
    spans: list[Span] = []
    for chunk in _CHUNK.finditer(text):
        for a, b in _split_chunk(chunk.group(), mode):
            piece = chunk.group()[a:b]
            if not _CONTENT.search(piece):
                continue
            lead = _EDGES.match(piece)
            trimmed_start = a + (lead.end() if lead and lead.start() == 0 else 0)
            trail = regex.search(r"[^\p{L}\p{M}\p{N}]+$", piece)
            trimmed_end = b - (len(trail.group()) if trail else 0)
            spans.append((chunk.start() + trimmed_start, chunk.start() + trimmed_end))
    return spans
