"""Every setting comes from the environment or `.env`; nothing secret lives in code."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# ROOT is re-exported: flows, locales, data and migrations are found from it.
from bot import cores
from bot.resources import ROOT as ROOT
from bot.resources import VAR
from bot.services.hours import HotlineHours

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
DEFAULT_VIBER_URL = "https://chatapi.viber.com/pa"

# Secrets a production deployment must set; a local run generates them once (see `local_secrets`).
GENERATED_SECRETS = ("PSEUDONYM_KEY", "DATA_KEY", "SESSION_SECRET")


class Settings(BaseSettings):
    # An empty value (`DATABASE_URL=` in a copied .env.example) means "the default", not "".
    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", case_sensitive=True
    )

    ENVIRONMENT: str = "development"
    DATABASE_URL: str = f"sqlite:///{VAR / 'safestep.db'}"

    MESSENGER_APP_SECRET: str = ""
    MESSENGER_VERIFY_TOKEN: str = ""
    MESSENGER_PAGE_TOKEN: str = ""
    MESSENGER_GRAPH_URL: str = DEFAULT_GRAPH_URL

    VIBER_AUTH_TOKEN: str = ""
    VIBER_BOT_NAME: str = "SafeStep"
    VIBER_BOT_AVATAR: str = ""
    VIBER_API_URL: str = DEFAULT_VIBER_URL

    RASA_URL: str = "http://127.0.0.1:5005"
    RASA_TOKEN: str = ""
    NLU_TIMEOUT_SECONDS: float = 1.0
    NLU_CONCURRENCY: int = Field(default=8, ge=1)  # parses in flight per process
    # How much lower the CPU priority (nice) of the NLU server that `safestep run` and `safestep
    # nlu serve` start is: like the workers, it yields to the web's acknowledgements.
    NLU_NICE: int = Field(default=5, ge=0, le=19)
    # `safestep run` and `safestep nlu serve` give the NLU server they start the last core to
    # itself, and `run` keeps the bot's processes on the others while that server runs on this
    # machine (Linux, two cores or more; see `bot/cores.py`).
    NLU_OWN_CORE: bool = True

    PSEUDONYM_KEY: str = ""
    DATA_KEY: str = ""
    SESSION_SECRET: str = ""

    HTTP_TIMEOUT_SECONDS: float = 10.0
    # Delivery: retries back off up to the cap for as long as the reply window is open.
    OUTBOX_BACKOFF_SECONDS: float = Field(default=2.0, gt=0)
    OUTBOX_MAX_BACKOFF_SECONDS: float = Field(default=300.0, gt=0)
    OUTBOX_MAX_SENDS: int = Field(default=64, ge=1)  # sends in flight per process
    CHANNEL_SENDS_PER_SECOND: float = Field(default=250.0, gt=0)  # per channel and process
    BREAKER_SECONDS: float = Field(default=30.0, gt=0)
    BREAKER_MAX_SECONDS: float = Field(default=600.0, gt=0)
    # Workers: turns in flight per process, and how they recover.
    WORKER_CONCURRENCY: int = Field(default=32, ge=1)
    # Worker processes that `safestep run` starts (one GIL each; deployments scale theirs).
    # 0: on PostgreSQL one per core but one (left to the web process and the NLU server), at
    # most 4; on SQLite one, as more would only queue for its one writer.
    WORKER_PROCESSES: int = Field(default=0, ge=0, le=32)
    # How much lower a worker-only process's CPU priority is (nice), so webhook acks, which
    # platforms time out and retry, go first when the machine is busy; 0 leaves it equal.
    WORKER_NICE: int = Field(default=5, ge=0, le=19)
    WORKER_POLL_SECONDS: float = 1.0
    WORKER_BACKOFF_SECONDS: float = Field(default=0.5, gt=0)
    WORKER_MAX_BACKOFF_SECONDS: float = Field(default=30.0, gt=0)
    WORKER_STALL_SECONDS: float = Field(default=120.0, gt=0)
    LEASE_SECONDS: float = Field(default=60.0, gt=0)
    # /readyz is not ready when the oldest waiting event or due reply is older than this.
    READY_MAX_BACKLOG_SECONDS: float = Field(default=300.0, gt=0)
    # PostgreSQL connections per process: replicas × (pool + overflow) must fit the server.
    DB_POOL_SIZE: int = Field(default=5, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=5, ge=0)
    CONVERSATION_TIMEOUT_MINUTES: int = 30
    DEFAULT_LANGUAGE: str = "en"

    # Privacy and the O1.1.3 indicator (each is explained in .env.example).
    CASE_TEXT_RETENTION_DAYS: int = Field(default=90, ge=1)
    CONVERSATION_RETENTION_DAYS: int = Field(default=30, ge=1)
    REPORTING_YEAR_START: str = Field(default="2026-01", pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    PSEUDONYM_KEY_GRACE_DAYS: int = Field(default=90, ge=0)
    INDICATOR_MIN_CELL: int = Field(default=5, ge=1)
    INDICATOR_BASELINE: str = Field(default="", pattern=r"^(\d{4}-\d{2}(\.\.\d{4}-\d{2})?)?$")
    INDICATORS_FILE: str = ""

    CONSOLE_URGENT_WAIT_MINUTES: int = Field(default=5, ge=1)
    CONSOLE_THROTTLE_ACCOUNT_ATTEMPTS: int = Field(default=5, ge=1)
    CONSOLE_THROTTLE_IP_ATTEMPTS: int = Field(default=20, ge=1)
    CONSOLE_THROTTLE_MINUTES: int = Field(default=15, ge=1)
    CONSOLE_SESSION_HOURS: int = Field(default=12, ge=1)
    CONSOLE_POLL_SECONDS: float = Field(default=3.0, gt=0)
    # The person's side of a hand-over (see .env.example and bot/services/hours.py).
    HOTLINE_HOURS: HotlineHours = Field(default_factory=dict)
    HANDOVER_ACK_MINUTES: int = Field(default=5, ge=1)
    HANDOVER_CHECK_SECONDS: float = Field(default=30.0, gt=0)
    # None: Secure cookies in production only (local runs and tests use plain http on loopback).
    SESSION_COOKIE_SECURE: bool | None = None
    # /metrics answers only a request with "Authorization: Bearer <METRICS_TOKEN>"; unset: 404.
    METRICS_TOKEN: str = ""

    @property
    def is_production(self) -> bool:
        return self.ENVIRONMENT == "production"

    @property
    def messenger_enabled(self) -> bool:
        return bool(self.MESSENGER_APP_SECRET and self.MESSENGER_PAGE_TOKEN)

    @property
    def viber_enabled(self) -> bool:
        return bool(self.VIBER_AUTH_TOKEN)

    @property
    def session_cookie_secure(self) -> bool:
        if self.SESSION_COOKIE_SECURE is None:
            return self.is_production
        return self.SESSION_COOKIE_SECURE

    def worker_processes(self) -> int:
        """How many worker processes `safestep run` starts (see WORKER_PROCESSES)."""
        if self.WORKER_PROCESSES:
            return self.WORKER_PROCESSES
        if self.DATABASE_URL.startswith("sqlite"):
            return 1
        return max(1, min((os.cpu_count() or 1) - 1, 4))

    def nlu_cores(self) -> frozenset[int] | None:
        """The core an NLU server started by `run` or `nlu serve` has to itself (NLU_OWN_CORE);
        None: it runs anywhere."""
        split = self._core_split()
        return split[0] if split else None

    def bot_cores(self) -> frozenset[int] | None:
        """The cores `run` keeps the bot's processes on beside a local NLU server; None: any."""
        split = self._core_split()
        return split[1] if split else None

    def _core_split(self) -> tuple[frozenset[int], frozenset[int]] | None:
        return cores.split(cores.available()) if self.NLU_OWN_CORE else None

    def missing_secrets(self) -> list[str]:
        return [name for name in GENERATED_SECRETS if not getattr(self, name)]


def local_secrets(path: Path) -> dict[str, str]:
    """Generate (once) and return secrets for a local run, kept in a git-ignored file."""
    from cryptography.fernet import Fernet

    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if value:
                values[name.strip()] = value.strip()
    fresh = {
        "PSEUDONYM_KEY": lambda: secrets.token_hex(32),
        "DATA_KEY": lambda: Fernet.generate_key().decode(),
        "SESSION_SECRET": lambda: secrets.token_urlsafe(32),
    }
    changed = False
    for name, make in fresh.items():
        if name not in values:
            values[name] = make()
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


@lru_cache
def get_settings() -> Settings:
    """The process's settings; outside production, missing secrets come from var/secrets.env."""
    settings = Settings()
    missing = settings.missing_secrets()
    if missing and settings.is_production:
        raise RuntimeError(f"missing required secrets: {', '.join(missing)}")
    if missing:
        generated = local_secrets(VAR / "secrets.env")
        settings = settings.model_copy(update={k: generated[k] for k in missing})
    return settings
