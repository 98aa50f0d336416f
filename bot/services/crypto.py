"""Encryption at rest for case transcripts: Fernet with `DATA_KEY` from the environment."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet

from bot.settings import get_settings


@lru_cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(text: str) -> bytes:
    return _fernet(get_settings().DATA_KEY).encrypt(text.encode())


def decrypt(token: bytes) -> str:
    return _fernet(get_settings().DATA_KEY).decrypt(token).decode()
