"""The console against the running bot: staff accounts, logged-in HTTP clients, real cases."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from bot.console.accounts import create_staff
from bot.db.models import Case, User
from bot.services.seed import seed_if_empty
from tests.fixtures.bot import BotFactory, RunningBot

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@dataclass
class Console:
    """One staff member's browser session, over plain HTTP."""

    bot: RunningBot
    client: httpx.Client

    def get(self, path: str) -> httpx.Response:
        return self.client.get(f"{self.bot.url}{path}")

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        """Submit a form the way the page does: with the token from the page the form is on."""
        if csrf:
            data = {**data, "csrf_token": csrf_of(self.get("/console/").text)}
        return self.client.post(f"{self.bot.url}{path}", data=data)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        token = csrf_of(self.get("/console/login").text)
        return self.client.post(
            f"{self.bot.url}/console/login",
            data={"email": email, "password": password, "csrf_token": token},
        )


@pytest.fixture
def console_bot(make_bot: BotFactory) -> Iterator[RunningBot]:
    """The running bot (queue pages refresh twice a second) with starter data and one account
    per role."""
    with make_bot(CONSOLE_POLL_SECONDS=0.5) as bot:
        _accounts(bot)
        yield bot


def _accounts(bot: RunningBot) -> None:
    with bot.db.session() as session:
        seed_if_empty(session)
        for email, role in (
            ("agent@example.org", "agent"),
            ("other@example.org", "agent"),
            ("super@example.org", "supervisor"),
            ("admin@example.org", "admin"),
        ):
            create_staff(session, email=email, role=role, password=PASSWORD)


@pytest.fixture
def login(console_bot: RunningBot) -> Iterator[Callable[[str], Console]]:
    """A logged-in console session for an email (a fresh cookie jar each)."""
    clients: list[httpx.Client] = []

    def make(email: str) -> Console:
        client = httpx.Client(timeout=30)
        clients.append(client)
        console = Console(console_bot, client)
        assert console.login(email).status_code == 303
        return console

    yield make
    for client in clients:
        client.close()


def urgent_case(bot: RunningBot, user: str, channel: str = "messenger") -> int:
    """A person taps through to urgent help (Cambodia, Khmer), as in the webhook tests."""
    bot.tap(user, "start.privacy|lang=km", channel)
    bot.tap(user, "urgent.start", channel)
    bot.tap(user, "urgent.numbers|country=KH", channel)
    with bot.db.sessions() as session:
        return session.scalars(
            select(Case.id).join(User, User.id == Case.user_id).where(User.address == user)
        ).one()
