"""Login, lockout, CSRF, roles: unit rules on a real database and the same through HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.console.accounts import AccountError, create_staff
from bot.console.auth import Policy, authenticate, hash_password
from bot.db.models import AuditEntry, Staff
from bot.db.session import Database
from tests.console.conftest import PASSWORD, Console, csrf_of
from tests.fixtures.bot import RunningBot

POLICY = Policy(attempts=3, lock_minutes=15)


@pytest.fixture
def session(sqlite_url: str) -> Iterator[Session]:
    database = Database(sqlite_url)
    with database.session() as session:
        create_staff(session, email="Ana@Example.org", role="agent", password=PASSWORD)
        yield session
    database.dispose()


def test_passwords_are_argon2_and_short_ones_refused(session: Session) -> None:
    staff = session.scalars(select(Staff)).one()
    assert staff.password_hash.startswith("$argon2id$") and PASSWORD not in staff.password_hash
    assert staff.email == "ana@example.org"
    with pytest.raises(ValueError):
        hash_password("short")
    with pytest.raises(AccountError, match="already exists"):
        create_staff(session, email="ANA@example.org", role="agent", password=PASSWORD)
    with pytest.raises(AccountError, match="role"):
        create_staff(session, email="b@example.org", role="root", password=PASSWORD)


def test_lockout_after_repeated_failures_then_unlock_by_time(session: Session) -> None:
    now = utcnow()
    tries = [
        authenticate(session, "ana@example.org", "nope", now=now, policy=POLICY)[1]
        for _ in range(3)
    ]
    assert tries == ["wrong", "wrong", "locked"]
    locked = authenticate(session, "ana@example.org", PASSWORD, now=now, policy=POLICY)
    assert locked == (None, "locked"), "the right password is refused while locked"
    later = now + timedelta(minutes=16)
    staff, why = authenticate(session, "ANA@example.org ", PASSWORD, now=later, policy=POLICY)
    assert why == "ok" and staff is not None
    assert (staff.failed_logins, staff.locked_until) == (0, None)


def test_inactive_and_unknown_accounts_cannot_log_in(session: Session) -> None:
    session.scalars(select(Staff)).one().active = False
    now = utcnow()
    assert authenticate(session, "ana@example.org", PASSWORD, now=now, policy=POLICY)[1] == (
        "inactive"
    )
    assert authenticate(session, "who@example.org", PASSWORD, now=now, policy=POLICY)[1] == (
        "unknown"
    )


# ---- through HTTP ------------------------------------------------------------------------


def test_login_page_sets_a_strict_httponly_cookie(console_bot: RunningBot) -> None:
    with httpx.Client() as client:
        page = client.get(f"{console_bot.url}/console/login")
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
        assert "secure" not in cookie, "plain http on loopback outside production"
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.headers["cache-control"] == "no-store"


def test_wrong_password_is_refused_and_audited(console_bot: RunningBot) -> None:
    with httpx.Client() as client:
        console = Console(console_bot, client)
        refused = console.login("agent@example.org", "wrong password!")
        assert refused.status_code == 401 and "Wrong email or password" in refused.text
        assert console.get("/console/").status_code == 303
    with console_bot.db.sessions() as session:
        entry = session.scalars(select(AuditEntry)).all()[-1]
    assert (entry.action, entry.detail) == ("login_failed", "wrong: agent@example.org")


def test_login_without_csrf_token_is_refused(console_bot: RunningBot) -> None:
    with httpx.Client() as client:
        client.get(f"{console_bot.url}/console/login")
        response = client.post(
            f"{console_bot.url}/console/login",
            data={"email": "agent@example.org", "password": PASSWORD},
        )
        assert response.status_code == 403
        assert Console(console_bot, client).get("/console/").status_code == 303


def test_lockout_through_the_login_form(make_bot, database_url: str) -> None:  # type: ignore[no-untyped-def]
    with make_bot(CONSOLE_LOCKOUT_ATTEMPTS=2) as running, httpx.Client() as client:
        with running.db.session() as session:
            create_staff(session, email="a@example.org", role="agent", password=PASSWORD)
        console = Console(running, client)
        assert console.login("a@example.org", "bad one").status_code == 401
        locked = console.login("a@example.org", "bad two")
        assert locked.status_code == 401 and "locked" in locked.text
        assert console.login("a@example.org").status_code == 401, "locked even with the password"


def test_forms_need_the_session_csrf_token(login: Callable[[str], Console]) -> None:
    agent = login("agent@example.org")
    assert agent.post("/console/logout", {}, csrf=False).status_code == 403
    assert agent.post("/console/logout", {"csrf_token": "forged"}, csrf=False).status_code == 403
    assert agent.get("/console/").status_code == 200, "still logged in"
    assert agent.post("/console/logout", {}).status_code == 303
    assert agent.get("/console/").status_code == 303, "logged out"


def test_login_rotates_the_csrf_token(console_bot: RunningBot) -> None:
    with httpx.Client() as client:
        console = Console(console_bot, client)
        before = csrf_of(console.get("/console/login").text)
        console.login("agent@example.org")
        assert csrf_of(console.get("/console/").text) != before


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("agent@example.org", {"/console/"}),
        ("super@example.org", {"/console/", "/console/audit", "/console/report"}),
        (
            "admin@example.org",
            {"/console/", "/console/audit", "/console/report", "/console/staff"},
        ),
    ],
)
def test_every_page_checks_the_role(
    login: Callable[[str], Console], email: str, allowed: set[str]
) -> None:
    console = login(email)
    for path in ("/console/", "/console/audit", "/console/report", "/console/staff"):
        expected = 200 if path in allowed else 403
        assert console.get(path).status_code == expected, path


def test_pages_need_a_login(console_bot: RunningBot) -> None:
    with httpx.Client() as client:
        for path in ("/console/", "/console/queue/rows", "/console/cases/1", "/console/audit"):
            response = client.get(f"{console_bot.url}{path}")
            assert response.status_code == 303 and response.headers["location"] == (
                "/console/login"
            ), path


def test_deactivated_staff_are_out_at_their_next_click(login: Callable[[str], Console]) -> None:
    agent, admin = login("agent@example.org"), login("admin@example.org")
    with agent.bot.db.sessions() as session:
        agent_id = session.scalars(select(Staff.id).where(Staff.email == "agent@example.org")).one()
    assert admin.post(f"/console/staff/{agent_id}", {"change": "deactivate"}).status_code == 303
    assert agent.get("/console/").status_code == 303


def test_failed_attempts_made_in_parallel_all_count(sqlite_url: str) -> None:
    """Two attempts that read the account at the same time must both count towards the lock
    (otherwise parallel guessing never reaches it)."""
    database = Database(sqlite_url)
    with database.session() as setup:
        create_staff(setup, email="ana@example.org", role="agent", password=PASSWORD)
    now = utcnow()
    with database.sessions() as slow:
        seen = slow.scalars(select(Staff)).one()  # this attempt read the account first...
        slow.commit()
        with database.session() as fast:  # ...another one failed meanwhile
            authenticate(fast, "ana@example.org", "nope", now=now, policy=POLICY)
        with slow.begin():
            authenticate(slow, "ana@example.org", "nope", now=now, policy=POLICY)
        assert seen.failed_logins == 2
    with database.sessions() as check:
        assert check.scalars(select(Staff.failed_logins)).one() == 2
    database.dispose()


def test_a_login_lasts_the_configured_hours_even_while_the_page_polls(
    login: Callable[[str], Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = login("agent@example.org")
    assert agent.get("/console/queue/rows").status_code == 200
    hours = agent.bot.settings.CONSOLE_SESSION_HOURS
    later = utcnow() + timedelta(hours=hours, minutes=1)
    monkeypatch.setattr("bot.console.auth.utcnow", lambda: later, raising=False)
    response = agent.get("/console/queue/rows")
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
