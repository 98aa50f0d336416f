"""What the hotline directory covers: destination × purpose × language, with its weak spots.

Pure over rows (no session), so the CLI, the console and tests read the same table. A cell is
marked when nothing covers it (a gap), when its only rows were retrieved long ago (stale),
are of low confidence, or are unverified (kept for staff, never shown to users).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.db.models import Hotline
from bot.services.hotlines import UNVERIFIED, areas

DESTINATIONS = (
    "TH", "MY", "SG", "BN", "SA", "AE", "QA", "KW", "OM", "BH", "JO", "LB", "JP", "KR", "HK", "TW",
)  # fmt: skip
ORIGINS = ("MM", "KH", "BD")
DESTINATION_PURPOSES = ("emergency", "anti_trafficking", "labour")
ORIGIN_PURPOSES = ("from_abroad", "child", "advice_centre")
LANGUAGES = ("en", "my", "km", "bn")
LOW_CONFIDENCE = ("L", "L-M")


@dataclass(frozen=True)
class Cell:
    country: str
    purpose: str  # "embassy:BD" for the embassy serving Bangladeshis
    numbers: tuple[str, ...]
    languages: tuple[str, ...]
    marks: tuple[str, ...]

    @property
    def usable(self) -> bool:
        """A user can be given a sourced number from this cell."""
        return bool(self.numbers) and "unverified" not in self.marks


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _marks(rows: list[Hotline], today: date, stale_months: int) -> tuple[str, ...]:
    if not rows:
        return ("GAP",)
    public = [h for h in rows if h.listing != UNVERIFIED]
    marks = []
    if not public:
        marks.append("unverified")
    best = public or rows
    if all(h.retrieved is None or months_between(h.retrieved, today) > stale_months for h in best):
        marks.append("stale")
    if all((h.confidence or "L") in LOW_CONFIDENCE for h in best):
        marks.append("low")
    if not any(h.source_url for h in best):
        marks.append("no-url")
    return tuple(marks)


def _cell(country: str, purpose: str, rows: list[Hotline], today: date, months: int) -> Cell:
    """An in-person advice centre shows its place where a line shows its number."""
    public = [h for h in rows if h.listing != UNVERIFIED]
    reach = [h.number or next(iter(areas(h)), "") for h in public]
    spoken = sorted({code for h in public for code in h.languages})
    return Cell(
        country, purpose, tuple(r for r in reach if r), tuple(spoken),
        _marks(rows, today, months),
    )  # fmt: skip


def table(rows: Iterable[Hotline], today: date, stale_months: int = 12) -> list[Cell]:
    """Every destination and origin cell in a fixed order, empty ones included."""
    rows = list(rows)

    def pick(country: str, purpose: str, serves: str | None = None) -> list[Hotline]:
        return [
            h
            for h in rows
            if (h.country, h.purpose) == (country, purpose) and serves in (None, h.serves)
        ]

    cells = []
    for country in DESTINATIONS:
        for purpose in DESTINATION_PURPOSES:
            cells.append(_cell(country, purpose, pick(country, purpose), today, stale_months))
        for origin in ORIGINS:
            found = pick(country, "embassy", origin)
            cells.append(_cell(country, f"embassy:{origin}", found, today, stale_months))
    for country in ORIGINS:
        for purpose in ORIGIN_PURPOSES:
            cells.append(_cell(country, purpose, pick(country, purpose), today, stale_months))
    return cells


def render(cells: list[Cell]) -> str:
    """A plain-text table: one line per cell, a ✓ per language the cell's numbers speak."""
    head = f"{'where':5} {'purpose':17} {' '.join(f'{c:2}' for c in LANGUAGES)}  numbers / marks"
    lines = [head, "-" * len(head)]
    for cell in cells:
        flags = " ".join(" ✓" if code in cell.languages else " ·" for code in LANGUAGES)
        numbers = ", ".join(cell.numbers) or "—"
        marks = f"  [{', '.join(cell.marks)}]" if cell.marks else ""
        lines.append(f"{cell.country:5} {cell.purpose:17} {flags}  {numbers}{marks}")
    return "\n".join(lines)


def missing_essentials(cells: list[Cell]) -> list[str]:
    """Destinations without a usable emergency number or worker/anti-trafficking line."""
    by_country: dict[str, list[Cell]] = {}
    for cell in cells:
        by_country.setdefault(cell.country, []).append(cell)
    missing = []
    for country in DESTINATIONS:
        found = {c.purpose for c in by_country.get(country, []) if c.usable}
        if "emergency" not in found:
            missing.append(f"{country}: no emergency number")
        if not found & {"anti_trafficking", "labour"}:
            missing.append(f"{country}: no worker or anti-trafficking line")
    return missing
