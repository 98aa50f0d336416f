"""Shared fixtures: real databases, the fake platform APIs, the app on a real port."""

from __future__ import annotations

import os

# Deterministic secrets for the whole test process, set before any settings are read.
os.environ.update(
    ENVIRONMENT="test",
    PSEUDONYM_KEY="test-pseudonym-key",
    DATA_KEY="mNRYSmS0bLfWqGq9Nw4xNwNNfK2VSBBnInJtdXk7JWs=",
    SESSION_SECRET="test-session-secret",
    RASA_URL=os.environ.get("TEST_RASA_URL", "http://127.0.0.1:9"),
)

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.bot", "tests.fixtures.rasa"]
