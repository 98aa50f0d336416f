"""Liveness and readiness as a load balancer or an operator sees them."""

from __future__ import annotations

from tests.fixtures.bot import BotFactory, RunningBot


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


def test_metrics_need_the_token_and_the_api_map_is_not_served(make_bot: BotFactory) -> None:
    with make_bot(METRICS_TOKEN="scrape-me") as bot:
        assert bot.client.get(f"{bot.url}/metrics").status_code == 401
        wrong = {"authorization": "Bearer nope"}
        assert bot.client.get(f"{bot.url}/metrics", headers=wrong).status_code == 401
        right = {"authorization": "Bearer scrape-me"}
        scraped = bot.client.get(f"{bot.url}/metrics", headers=right)
        assert scraped.status_code == 200 and "safestep_rows" in scraped.text
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert bot.client.get(f"{bot.url}{path}").status_code == 404, path
    with make_bot() as bot:
        assert bot.client.get(f"{bot.url}/metrics", headers=right).status_code == 404
