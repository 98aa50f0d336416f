"""Pseudonymous user keys: HMAC-SHA256 over channel and platform id, never the id itself."""

from __future__ import annotations

import hashlib
import hmac


def user_key(secret: str, channel: str, address: str) -> str:
    return hmac.new(secret.encode(), f"{channel}:{address}".encode(), hashlib.sha256).hexdigest()
