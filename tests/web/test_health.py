"""Liveness and readiness as a load balancer or an operator sees them."""

from __future__ import annotations

from tests.fixtures.bot import RunningBot


def test_healthz_answers_while_nlu_is_down_and_readyz_says_what_is_missing(
    bot: RunningBot,
) -> None:
    assert bot.client.get(f"{bot.url}/healthz").json() == {"status": "ok"}
    ready = bot.client.get(f"{bot.url}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "ready": False,
        "database": True,
        "nlu": False,
        "work": {
            "oldest_inbound_seconds": None,
            "oldest_outbox_seconds": None,
            "open_breakers": {},
            "stalled_loops": [],
            "stuck": False,
        },
    }
