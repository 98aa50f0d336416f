"""The console against the running bot: staff accounts, logged-in HTTP clients, real cases."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.console.accounts import create_staff
from bot.db.models import Case, Staff, User
from bot.dialogue import build_dialogue
from bot.pipeline.alerts import check_once
from bot.services.crypto import encrypt
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

    def login(self, email: str, password: str = PASSWORD, *, code: bool = True) -> httpx.Response:
        """Log in; with `code`, also give the TOTP code when the login asks for one."""
        token = csrf_of(self.get("/console/login").text)
        response = self.client.post(
            f"{self.bot.url}/console/login",
            data={"email": email, "password": password, "csrf_token": token},
        )
        if code and response.headers.get("location") == "/console/login/code":
            token = csrf_of(self.get("/console/login/code").text)
            response = self.client.post(
                f"{self.bot.url}/console/login/code",
                data={"code": totp_code(self.bot, email), "csrf_token": token},
            )
        return response


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the fixture supervisors' and admins' app


def totp_code(bot: RunningBot, email: str) -> str:
    """The app's current code. Tests log the same account in many times a minute, faster than
    codes change, so the fixture forgets the last used step first (real logins cannot)."""
    with bot.db.session() as session:
        session.execute(update(Staff).where(Staff.email == email).values(totp_last_step=None))
    return pyotp.TOTP(TOTP_SECRET).now()


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
            make_staff(session, email, role)


def make_staff(session: Session, email: str, role: str) -> Staff:
    """An account with the fixture password; above agent, with the fixture's TOTP app."""
    staff = create_staff(session, email=email, role=role, password=PASSWORD)
    if role != "agent":
        staff.totp_secret_enc = encrypt(TOTP_SECRET)
    return staff


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


def overdue_alert(bot: RunningBot, user: str, waited: timedelta = timedelta(minutes=17)) -> int:
    """An urgent case (through the webhook) that has waited `waited` with no reply, alerted by
    the job's own pass; returns the case id. No channels: the person is not messaged here."""
    case_id = urgent_case(bot, user)
    now = utcnow()
    with bot.db.session() as session:
        session.execute(update(Case).where(Case.id == case_id).values(waiting_since=now - waited))
    wait = timedelta(minutes=bot.settings.CONSOLE_URGENT_WAIT_MINUTES)
    check_once(bot.db, build_dialogue(bot.settings), {}, wait=wait, now=now)
    return case_id
