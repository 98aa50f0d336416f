"""Text that fits a channel's limits without breaking a syllable.

Burmese, Khmer and Bengali build one visible letter from several code points, so every cut is
made on grapheme-cluster boundaries (`regex`'s \\X), and long texts split where sentences end.
"""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")
# Sentence ends in our four scripts: Latin punctuation, Burmese ။, Khmer ។, Bengali ।.
_SENTENCE = regex.compile(r"(?<=[.!?။។।])\s+|\n+")


def graphemes(text: str) -> list[str]:
    return _GRAPHEME.findall(text)


def grapheme_len(text: str) -> int:
    return len(graphemes(text))


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """At most `limit` grapheme clusters, with an ellipsis when something was cut."""
    clusters = graphemes(text)
    if len(clusters) <= limit:
        return text
    return "".join(clusters[: limit - len(ellipsis)]).rstrip() + ellipsis


def split(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at sentence ends, then spaces, then graphemes."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for unit in _units(text, limit):
        candidate = f"{current} {unit}" if current else unit
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> list[str]:
    """Sentences, with any sentence longer than `limit` broken down further."""
    units: list[str] = []
    for sentence in filter(None, (s.strip() for s in _SENTENCE.split(text))):
        if len(sentence) <= limit:
            units.append(sentence)
            continue
        for word in sentence.split():
            units.extend(_hard_split(word, limit) if len(word) > limit else [word])
    return units


def _hard_split(word: str, limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    for cluster in graphemes(word):
        if len(current) + len(cluster) > limit:
            out.append(current)
            current = ""
        current += cluster
    return [*out, current] if current else out
