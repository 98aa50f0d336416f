"""Time from an urgent message at the webhook to the desktop notification in a staff browser.

Runs `safestep serve` in its own process, opens the console in Debian's Chromium (Playwright)
as an agent who allowed notifications, then, N times: a new person sends a signed Messenger
message in danger words, and the clock stops when the page constructs its Notification (the
page's own Date.now(), recorded by a wrapper around the real Notification). Both clocks are this
machine's wall clock.

    .venv/bin/python scripts/bench_alert.py --runs 10 [--poll-seconds 3] [--postgres]

The figure is mostly the page's polling interval (CONSOLE_POLL_SECONDS, 3 s by default): on
average half of it, at worst all of it, plus the webhook-to-case time of bench_console.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx
from bench_console import EMAIL, PASSWORD, URGENT, database_with_agent
from bench_webhooks import app_env, app_process, percentile
from playwright.sync_api import Page, sync_playwright

from tests.fixtures.bot import messenger_body, messenger_text, sign_messenger
from tests.fixtures.fake_platforms import FakePlatforms
from tests.fixtures.servers import serve

RECORD = """
window.__notes = [];
const Real = window.Notification;
class Recorded extends Real {
  constructor(title, options) {
    super(title, options);
    window.__notes.push(Date.now());
  }
}
Object.defineProperty(window, "Notification", { value: Recorded, configurable: true });
"""


def one_run(page: Page, client: httpx.Client, url: str, person: str, poll: float) -> float:
    """Seconds from posting the webhook to the page's notification for it. A random pause
    first, so messages arrive at random points of the page's polling cycle, as in real life."""
    time.sleep(random.uniform(0, poll))
    before = page.evaluate("window.__notes.length")
    raw = messenger_body(messenger_text(person, URGENT))
    body = httpx.Request("POST", "/", json=raw).content
    headers = {"x-hub-signature-256": sign_messenger(body), "content-type": "application/json"}
    sent_ms = time.time() * 1000
    assert client.post(f"{url}/webhooks/messenger", content=body, headers=headers).is_success
    # Polled from here (the CSP forbids the page-side eval wait_for_function uses); the time
    # itself is the page's own record, so the polling does not add to it.
    while page.evaluate("window.__notes.length") <= before:
        if time.time() * 1000 - sent_ms > 30_000:
            raise SystemExit(f"{person}: no notification within 30 s")
        time.sleep(0.01)
    notified_ms = page.evaluate(f"window.__notes[{before}]")
    return (notified_ms - sent_ms) / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--poll-seconds", type=float, default=3.0, help="CONSOLE_POLL_SECONDS")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    url = database_with_agent(args.postgres)
    fake = FakePlatforms()
    with serve(fake.app()) as fake_url, sync_playwright() as playwright:
        env = {**app_env(url, fake_url), "CONSOLE_POLL_SECONDS": str(args.poll_seconds)}
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(permissions=["notifications"])
        context.add_init_script(RECORD)
        page = context.new_page()
        with app_process(env) as app_url, httpx.Client(timeout=30) as client:
            page.goto(f"{app_url}/console/login")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{app_url}/console/")
            times = [
                one_run(page, client, app_url, f"bench-alert-{i}", args.poll_seconds)
                for i in range(args.runs)
            ]
        browser.close()
    print(
        f"database: {'postgresql' if args.postgres else 'sqlite'}; "
        f"CONSOLE_POLL_SECONDS={args.poll_seconds}; nlu: {env['RASA_URL']}"
    )
    print(
        f"urgent webhook -> desktop notification in the browser, {args.runs} runs: "
        f"p50 {percentile(times, 50):.2f} s, p99 {percentile(times, 99):.2f} s, "
        f"max {max(times):.2f} s"
    )


if __name__ == "__main__":
    main()
