"""Text that fits a channel's limits without breaking a syllable.

Burmese, Khmer and Bengali build one visible letter from several code points, so every cut is
made on grapheme-cluster boundaries (`regex`'s \\X); long texts split between paragraphs and
lines first (a list stays a list), then where sentences end.
"""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")
# Where a long text may break, best first: between paragraphs (a hotline entry), between
# lines, at sentence ends (Latin punctuation, Burmese ။, Khmer ។, Bengali ।), between words.
_BREAKS = (
    ("\n\n", regex.compile(r"\n\s*\n")),
    ("\n", regex.compile(r"\n")),
    (" ", regex.compile(r"(?<=[.!?။។।])\s+")),
    (" ", regex.compile(r"\s+")),
)


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


def split(text: str, limit: int, level: int = 0) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, then lines, then
    sentences, then words, then grapheme clusters; line breaks inside a piece are kept."""
    if len(text) <= limit:
        return [text]
    if level == len(_BREAKS):
        return _hard_split(text, limit)
    joiner, pattern = _BREAKS[level]
    parts = [p.strip() for p in pattern.split(text) if p.strip()]
    if len(parts) == 1:
        return split(parts[0], limit, level + 1)
    pieces: list[str] = []
    current = ""
    for part in parts:
        units = split(part, limit, level + 1)
        if len(units) > 1:  # a part too long for one piece stands alone, in several
            pieces += [current, *units[:-1]] if current else units[:-1]
            current = units[-1]
            continue
        candidate = f"{current}{joiner}{part}" if current else part
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = part
    return [*pieces, current] if current else pieces


def _hard_split(word: str, limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    for cluster in graphemes(word):
        if len(current) + len(cluster) > limit:
            out.append(current)
            current = ""
        current += cluster
    return [*out, current] if current else out
