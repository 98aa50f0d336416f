"""The corridor data files, validated: every card's facts carry a source; every pattern compiles.

`data/corridors.yml` holds the facts (official costs and their sources) behind the cards whose
texts live in `locales/corridors/`; `data/job_offer_flags.yml` the red-flag patterns.
"""

from __future__ import annotations

from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import regex
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.settings import ROOT
from bot.understanding.base import LANGUAGES

CORRIDORS_FILE = ROOT / "data" / "corridors.yml"
JOB_FLAGS_FILE = ROOT / "data" / "job_offer_flags.yml"
Confidence = Literal["high", "medium", "low"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str
    url: str = Field(pattern=r"^https?://")
    retrieved: date
    confidence: Confidence
    published: date | None = None
    note: str | None = None


class Cost(_Strict):
    """A government-fixed (or officially charged) amount a worker pays for this destination."""

    amount: int = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    year: int
    source: str
    kind: Literal["migration_cost", "service_fee"] = "migration_cost"


class Card(_Strict):
    origin: Literal["MM", "KH", "BD"] | None = None
    destinations: tuple[str, ...]
    sources: tuple[str, ...] = Field(min_length=1)
    costs: dict[str, Cost] = {}


class Corridors(_Strict):
    sources: dict[str, Source]
    cards: dict[str, Card]

    @model_validator(mode="after")
    def _references(self) -> Corridors:
        for name, card in self.cards.items():
            cited = [*card.sources, *(c.source for c in card.costs.values())]
            missing = [s for s in cited if s not in self.sources]
            if missing:
                raise ValueError(f"card {name} cites unknown source(s) {missing}")
            stray = set(card.costs) - set(card.destinations)
            if stray:
                raise ValueError(f"card {name} has costs for {sorted(stray)}, not destinations")
        return self

    def card_for(self, origin: str | None, destination: str | None) -> str | None:
        """The one card for this route; with no origin, the only card serving the destination."""
        found = [
            name
            for name, card in self.cards.items()
            if destination in card.destinations and origin in (card.origin, None)
        ]
        return found[0] if len(found) == 1 else None

    def cards_from(self, origin: str | None) -> list[str]:
        """Cards for someone from `origin` (all route cards when unknown), then the scam card."""
        routes = [n for n, c in self.cards.items() if c.origin and origin in (c.origin, None)]
        return routes + [n for n, c in self.cards.items() if c.origin is None]


class JobFlags(_Strict):
    """Signals (pattern groups) per language and the monthly pay thresholds per currency."""

    high_pay: dict[str, int]
    flags: dict[str, dict[str, tuple[str, ...]]]

    @field_validator("flags")
    @classmethod
    def _every_language_compiles(
        cls, flags: dict[str, dict[str, tuple[str, ...]]]
    ) -> dict[str, dict[str, tuple[str, ...]]]:
        for name, per_language in flags.items():
            missing = set(LANGUAGES) - set(per_language)
            if missing:
                raise ValueError(f"signal {name} has no patterns for {sorted(missing)}")
            for lang, patterns in per_language.items():
                for pattern in patterns:
                    try:
                        regex.compile(pattern)
                    except regex.error as exc:
                        raise ValueError(f"signal {name} ({lang}): {pattern!r}: {exc}") from exc
        return flags

    @cached_property
    def searches(self) -> dict[str, regex.Pattern[str]]:
        """One compiled pattern per signal, every language's patterns as alternatives: a
        message is searched once per signal, and never compiles (117 searches by pattern text
        cost about 1 ms of a turn)."""
        return {
            name: regex.compile(
                "|".join(f"(?:{p})" for patterns in per_language.values() for p in patterns),
                regex.IGNORECASE,
            )
            for name, per_language in self.flags.items()
        }


def _yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def corridors(path: Path = CORRIDORS_FILE) -> Corridors:
    return Corridors.model_validate(_yaml(path))


@cache
def job_flags(path: Path = JOB_FLAGS_FILE) -> JobFlags:
    return JobFlags.model_validate(_yaml(path))
