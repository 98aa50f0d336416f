"""`safestep run`: a local bot on the embedded defaults, in one command.

Migrations, starter data, the NLU server (its environment created and the model trained only
when missing or stale), then the bot. When the NLU server cannot be had (no Python 3.10, a
failed install) the bot still runs and answers from the keyword router, and says so.
"""

from __future__ import annotations

import logging
import secrets
import signal
import sys
from urllib.parse import urlparse

import httpx
import uvicorn

from bot.app import create_app
from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.services.seed import seed_if_empty
from bot.settings import Settings
from bot.understanding import nlu_env

log = logging.getLogger(__name__)


def _nlu_answers(url: str, token: str) -> bool:
    try:
        params = {"token": token} if token else {}
        return httpx.get(f"{url}/status", params=params, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _start_nlu(settings: Settings) -> tuple[Settings, nlu_env.NluServer | None]:
    """Reuse an NLU server already answering at RASA_URL, else start one on its port."""
    if _nlu_answers(settings.RASA_URL, settings.RASA_TOKEN):
        log.info("using the NLU server already running at %s", settings.RASA_URL)
        return settings, None
    token = settings.RASA_TOKEN or secrets.token_urlsafe(24)
    port = urlparse(settings.RASA_URL).port or 5005
    log.info("starting the NLU server (the first run installs Rasa and trains: a few minutes)")
    try:
        server = nlu_env.start_server(port, token)
    except nlu_env.NluEnvError as exc:
        log.warning("no NLU server (%s): the bot answers from keywords only", exc)
        return settings, None
    log.info("NLU server ready at %s", server.url)
    return settings.model_copy(update={"RASA_URL": server.url, "RASA_TOKEN": token}), server


def run_everything(settings: Settings, *, host: str, port: int) -> None:
    upgrade(settings.DATABASE_URL)
    database = Database(settings.DATABASE_URL)
    with database.session() as session:
        seed_if_empty(session)
    database.dispose()
    settings, nlu_server = _start_nlu(settings)
    # uvicorn re-raises SIGTERM once it has shut down: exit through `finally` so the NLU server
    # (in its own process group) stops with the bot instead of being orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
    finally:
        if nlu_server is not None:
            nlu_server.stop()
