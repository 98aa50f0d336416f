"""Understanding what a user wrote: normalization, Rasa NLU, keyword fallback, safety net.

Importable without Rasa installed or running: the bot reaches Rasa only over HTTP.
"""

from __future__ import annotations

from bot.settings import Settings
from bot.understanding.base import Understanding
from bot.understanding.pipeline import NluPipeline
from bot.understanding.rasa_client import RasaClient


def build_understanding(settings: Settings) -> Understanding:
    """The pipeline the app uses: Rasa at RASA_URL, keywords when it is down or slow."""
    rasa = RasaClient(
        settings.RASA_URL,
        settings.RASA_TOKEN,
        settings.NLU_TIMEOUT_SECONDS,
        concurrency=settings.NLU_CONCURRENCY,
    )
    return NluPipeline(rasa)
