"""The seam between what a user typed and what the dialogue engine decides.

The dialogue engine depends only on `Understanding` and `Parse`: the Rasa client, the
keyword router and the safety net all sit behind it, so any of them can be swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.vocabulary import Indicator, Risk

INTENTS: tuple[str, ...] = (
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "menu",
    "choose_language",
    "check_recruiter",
    "find_hotline",
    "urgent_help",
    "talk_to_human",
    "info_documents",
    "info_fees",
    "info_contract",
    "info_rights",
    "info_job_offer",
    "delete_my_data",
    "out_of_scope",
)

LANGUAGES: tuple[str, ...] = ("en", "my", "km", "bn")


@dataclass(frozen=True)
class Entity:
    """An entity found in the normalized text (`value` is canonical: ISO code, digits)."""

    entity: str
    value: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Parse:
    """What one message means.

    `lang` is the language the text is written in (script-detected, `None` when unknown);
    the reply language is the user's chosen language, never this.
    """

    text: str
    normalized: str
    lang: str | None
    intent: str
    confidence: float
    urgent: bool = False
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[str, float], ...] = ()
    source: str = "keywords"
    was_zawgyi: bool = False
    # Distress, by the ILO's indicators; `urgent` is true exactly when `risk` is urgent.
    risk: Risk = Risk.NONE
    indicators: tuple[Indicator, ...] = ()

    def entity(self, name: str) -> str | None:
        return next((e.value for e in self.entities if e.entity == name), None)

    def as_json(self) -> dict[str, object]:
        """The contract shape of `safestep nlu parse`."""
        return {
            "text": self.text,
            "normalized": self.normalized,
            "lang": self.lang,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "urgent": self.urgent,
            "risk": str(self.risk),
            "indicators": [str(i) for i in self.indicators],
            "entities": [
                {"entity": e.entity, "value": e.value, "start": e.start, "end": e.end}
                for e in self.entities
            ],
        }


class Understanding(Protocol):
    async def parse(self, text: str) -> Parse: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Classification:
    """A classifier's raw answer, before the safety net and normalization are applied."""

    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    indicators: tuple[Indicator, ...] = ()
