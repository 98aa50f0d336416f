"""The dialogue engine, built from `flows/` and `locales/`."""

from __future__ import annotations

from bot.dialogue.engine import Engine
from bot.dialogue.flows import load
from bot.dialogue.i18n import Translator
from bot.settings import Settings


def build_dialogue(settings: Settings) -> Engine:
    """Load flows and locales once per process; refuse to start on broken flow data."""
    flows = load()
    if flows.problems:
        raise RuntimeError("flows are broken:\n" + "\n".join(flows.problems))
    return Engine(
        flows,
        Translator(),
        timeout_minutes=settings.CONVERSATION_TIMEOUT_MINUTES,
        default_language=settings.DEFAULT_LANGUAGE,
    )
