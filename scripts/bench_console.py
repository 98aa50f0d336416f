"""Time from an urgent message at the webhook to its case in the staff console's queue.

Runs `safestep serve` in its own process (as `bench_webhooks.py` does), logs in as an agent
through the login form, then, N times: a new person sends a signed Messenger message in danger
words, and the agent's session polls the queue fragment (what the open queue page fetches)
every few milliseconds until the new case is in it.

    .venv/bin/python scripts/bench_console.py --runs 20 [--postgres]

The browser adds at most CONSOLE_POLL_SECONDS (3 s by default) on top of these figures.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx
from bench_webhooks import app_env, app_process, database_url, percentile

from bot.console.accounts import create_staff
from bot.db.migrate import upgrade
from bot.db.session import Database
from tests.fixtures.bot import messenger_body, messenger_text, sign_messenger
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import serve

URGENT = "please help, they locked me in and took my passport"
EMAIL, PASSWORD = "bench@example.org", "bench password 1"
_URGENT_CASE = re.compile(r'<tr class="urgent[^"]*" data-case="(\d+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def log_in(client: httpx.Client, url: str) -> None:
    token = _CSRF.search(client.get(f"{url}/console/login").text)
    assert token, "no CSRF token on the login page"
    response = client.post(
        f"{url}/console/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, f"login failed: {response.status_code}"


def queued(client: httpx.Client, url: str) -> set[str]:
    """The urgent cases in the queue, as the agent's page would fetch them."""
    response = client.get(f"{url}/console/queue/rows")
    response.raise_for_status()
    return set(_URGENT_CASE.findall(response.text))


def one_run(client: httpx.Client, url: str, person: str, poll: float) -> float:
    before = queued(client, url)
    raw = messenger_body(messenger_text(person, URGENT))
    body = httpx.Request("POST", "/", json=raw).content
    headers = {"x-hub-signature-256": sign_messenger(body), "content-type": "application/json"}
    started = time.perf_counter()
    ack = client.post(f"{url}/webhooks/messenger", content=body, headers=headers)
    assert ack.status_code == 200, ack.text
    while not queued(client, url) - before:
        if time.perf_counter() - started > 30:
            raise SystemExit(f"{person}: the case did not reach the queue within 30 s")
        time.sleep(poll)
    return time.perf_counter() - started


def database_with_agent(postgres: bool) -> str:
    """A migrated database holding the benchmark's agent account; its URL."""
    url = database_url(postgres)
    upgrade(url)
    database = Database(url)
    with database.session() as session:
        create_staff(session, email=EMAIL, role="agent", password=PASSWORD)
    database.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--poll-ms", type=float, default=5.0, help="how often the agent polls")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    url = database_with_agent(args.postgres)
    fake = FakePlatforms()
    with serve(fake.app()) as fake_url:
        env = app_env(url, fake_url)
        with app_process(env) as app_url, httpx.Client(timeout=30) as client:
            log_in(client, app_url)
            times = [
                one_run(client, app_url, f"bench-urgent-{i}", args.poll_ms / 1000)
                for i in range(args.runs)
            ]
    print(f"database: {'postgresql' if args.postgres else 'sqlite'}; nlu: {env['RASA_URL']}")
    print(
        f"urgent webhook message -> case in the queue fragment, {args.runs} runs: "
        f"p50 {percentile(times, 50) * 1000:.0f} ms, p99 {percentile(times, 99) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
