"""The console in Chromium: an agent's whole shift on one urgent case, then the supervisor's
audit log. Screenshots go to test-output/console/ for the closing note and for reviewers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from bot.db.models import Case
from bot.services import cases
from bot.settings import ROOT
from bot.vocabulary import Indicator
from tests.console.conftest import PASSWORD
from tests.fixtures.bot import RunningBot, reply_text
from tests.fixtures.servers import wait_until

pytestmark = pytest.mark.browser

SHOTS = ROOT / "test-output" / "console"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """One backend is enough for the browser; the HTTP tests cover PostgreSQL."""
    return sqlite_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _login(page: Page, bot: RunningBot, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{bot.url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_agent_handles_an_urgent_case_end_to_end(page: Page, console_bot: RunningBot) -> None:
    bot = console_bot
    SHOTS.mkdir(parents=True, exist_ok=True)

    _login(page, bot, "agent@example.org", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    _login(page, bot, "agent@example.org")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    expect(page.locator("#queue-rows")).to_contain_text("No cases here")

    # A worker in Cambodia asks for urgent help; the open queue page shows it by itself.
    bot.tap("W-browser", "start.privacy|lang=km")
    started = time.monotonic()
    bot.tap("W-browser", "urgent.start")
    with bot.db.sessions() as session:
        case_id = session.scalars(select(Case.id)).one()
    row = page.locator(f'tr[data-case="{case_id}"]')
    expect(row).to_be_visible()
    waited = time.monotonic() - started
    print(f"urgent tap to the row in the open queue page: {waited:.2f}s (polling every 0.5s)")
    bot.tap("W-browser", "urgent.numbers|country=KH")
    expect(row).to_contain_text("urgent")
    expect(row).to_contain_text("km")
    expect(row).to_contain_text("KH")
    page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Case #{case_id}")).to_be_visible()
    expect(page.locator("#transcript")).to_contain_text("Bot")
    page.get_by_role("button", name="Claim this case").click()
    expect(page.get_by_text("Assigned to: agent@example.org")).to_be_visible()

    # A canned reply in Khmer, edited before sending.
    page.get_by_role("button", name="hello").click()
    canned = page.locator("#reply-text").input_value()
    assert canned.startswith("សួស្ដី")
    page.locator("#reply-text").fill(canned + " 🙏")
    page.get_by_role("button", name="Send reply").click()
    sent = wait_until(
        lambda: [r.body for r in bot.platforms.messenger("W-browser") if "🙏" in reply_text(r.body)]
    )
    assert reply_text(sent[0]) == canned + " 🙏" and sent[0]["messaging_type"] == "RESPONSE"
    expect(page.locator("#transcript .line.staff .delivery")).to_have_text("sent")

    # A form whose CSRF token was removed is refused, and nothing is stored.
    page.locator('form[action$="/note"] input[name="csrf_token"]').evaluate("e => e.remove()")
    page.locator("#note-text").fill("this must not be kept")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("body")).to_contain_text("CSRF")
    page.go_back()
    page.reload()
    expect(page.locator(".notes")).not_to_contain_text("this must not be kept")

    page.locator("#note-text").fill("Worker is in Phnom Penh; called the hotline for her.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".notes")).to_contain_text("called the hotline for her")
    page.screenshot(path=str(SHOTS / "case.png"), full_page=True)

    page.get_by_label("Outcome").select_option("referred_hotline")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("The bot answers this person again")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    _login(page, bot, "super@example.org")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Case").fill(str(case_id))
    page.get_by_role("button", name="Filter").click()
    actions = page.locator("table.audit tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[1].innerText, r.dataset.action]).reverse()"
    )
    agent_steps = [action for who, action in actions if who == "agent@example.org"]
    assert agent_steps[0] == "view"
    assert [a for a in agent_steps if a != "view"] == ["claim", "reply", "note", "resolve"]
    page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
    page.get_by_label("Case").fill("")
    page.get_by_label("Action").select_option("login")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.audit tbody")).to_contain_text("agent@example.org")


def test_console_shows_the_indicators_a_case_carries(page: Page, console_bot: RunningBot) -> None:
    """Queue row, case view and the supervisor's weekly report show what the bot heard."""
    bot = console_bot
    SHOTS.mkdir(parents=True, exist_ok=True)
    # A worker in Bangladesh accepts the offer of a person after describing debt and unpaid
    # wages (as the dialogue labels such a case: it carries the indicators of the conversation).
    bot.tap("W-debt", "start.privacy|lang=bn")
    bot.tap("W-debt", "human.start")
    with bot.db.session() as session:
        case = session.scalars(select(Case)).one()
        cases.add_indicators(case, [Indicator.WAGE_WITHHOLDING, Indicator.DEBT_BONDAGE])
        case_id = case.id

    _login(page, bot, "super@example.org")
    row = page.locator(f'tr[data-case="{case_id}"]')
    expect(row.locator(".indicator")).to_have_text(["wage withholding", "debt bondage"])
    page.screenshot(path=str(SHOTS / "indicators-queue.png"), full_page=True)

    row.get_by_role("link").click()
    labels = page.locator("dd.indicators .indicator")
    expect(labels).to_have_text(["wage withholding", "debt bondage"])
    page.screenshot(path=str(SHOTS / "indicators-case.png"), full_page=True)

    page.goto(f"{bot.url}/console/report")
    table = page.locator("table.indicators")
    expect(table.locator('tr[data-indicator="debt_bondage"] td').nth(1)).to_have_text("1")
    expect(table.locator('tr[data-indicator="wage_withholding"] td').nth(1)).to_have_text("1")
    expect(table.locator('tr[data-indicator="minor"]')).to_have_count(0)
    page.screenshot(path=str(SHOTS / "indicators-report.png"), full_page=True)
