"""The dialogue engine, built from `flows/` and `locales/`."""

from __future__ import annotations

from datetime import timedelta

from bot.corridors.data import corridors, job_flags
from bot.dialogue.engine import Engine
from bot.dialogue.flows import load
from bot.dialogue.i18n import Translator
from bot.services.handover import Team
from bot.settings import Settings


def build_dialogue(settings: Settings) -> Engine:
    """Load flows and locales once per process; refuse to start on broken flow data."""
    flows = load()
    if flows.problems:
        raise RuntimeError("flows are broken:\n" + "\n".join(flows.problems))
    # Read by actions on first use otherwise: the first person to paste a job ad would wait
    # for the files to load and the patterns to compile, and a server freezes them with the
    # rest of its start-up heap.
    corridors()
    _ = job_flags().searches
    return Engine(
        flows,
        Translator(),
        timeout_minutes=settings.CONVERSATION_TIMEOUT_MINUTES,
        default_language=settings.DEFAULT_LANGUAGE,
        team=Team(settings.HOTLINE_HOURS, timedelta(minutes=settings.HANDOVER_ACK_MINUTES)),
    )
