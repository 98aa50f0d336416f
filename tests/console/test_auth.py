"""Login, lockout, CSRF, roles: unit rules on a real database and the same through HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.console.accounts import AccountError, create_staff
from bot.console.auth import COOKIE, Policy, authenticate, hash_password, new_totp_secret, totp_step
from bot.db.models import AuditEntry, ConsoleSession, Staff
from bot.db.session import Database
from tests.console.conftest import PASSWORD, Console, csrf_of
from tests.fixtures.bot import BotFactory, RunningBot

POLICY = Policy(account_attempts=3, ip_attempts=5, minutes=15)


@pytest.fixture
def session(sqlite_url: str) -> Iterator[Session]:
    database = Database(sqlite_url)
    with database.session() as session:
        create_staff(session, email="Ana@Example.org", role="agent", password=PASSWORD)
        yield session
    database.dispose()


def _try(
    session: Session,
    email: str,
    password: str,
    *,
    ip: str = "10.0.0.1",
    device: int | None = None,
    now: datetime | None = None,
) -> str:
    return authenticate(
        session, email, password, ip=ip, device_staff=device, now=now or utcnow(), policy=POLICY
    )[1]


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


def test_the_account_throttle_holds_for_strangers_and_ends_by_itself(session: Session) -> None:
    now = utcnow()
    tries = [_try(session, "ana@example.org", "nope", ip=f"10.0.0.{i}", now=now) for i in range(4)]
    assert tries == ["wrong", "wrong", "wrong", "throttled"]
    assert _try(session, "ana@example.org", PASSWORD, ip="10.9.9.9", now=now) == "throttled"
    staff_id = session.scalars(select(Staff.id)).one()
    # Her own browser (it logged in as her before) is not locked out by someone else's guesses.
    assert _try(session, "ana@example.org", PASSWORD, device=staff_id, now=now) == "ok"
    later = now + timedelta(minutes=16)
    assert _try(session, "ANA@example.org ", PASSWORD, ip="10.9.9.9", now=later) == "ok"


def test_unknown_accounts_are_throttled_like_known_ones(session: Session) -> None:
    now = utcnow()
    tries = [_try(session, "who@example.org", "nope", ip=f"10.1.0.{i}", now=now) for i in range(4)]
    assert tries == ["unknown", "unknown", "unknown", "throttled"]


def test_the_address_throttle_covers_every_account(session: Session) -> None:
    now = utcnow()
    for i in range(5):
        _try(session, f"guess{i}@example.org", "nope", now=now)
    assert _try(session, "ana@example.org", PASSWORD, now=now) == "throttled"
    assert _try(session, "ana@example.org", PASSWORD, ip="10.0.0.2", now=now) == "ok"


def test_inactive_and_unknown_accounts_cannot_log_in(session: Session) -> None:
    session.scalars(select(Staff)).one().active = False
    assert _try(session, "ana@example.org", PASSWORD) == "inactive"
    assert _try(session, "who@example.org", PASSWORD) == "unknown"


def test_a_totp_code_works_once_and_only_near_its_time() -> None:
    secret = new_totp_secret()
    now = utcnow()
    code = pyotp.TOTP(secret).at(now)
    step = totp_step(secret, code, now, None)
    assert step is not None
    assert totp_step(secret, code, now, step) is None, "replayed"
    assert totp_step(secret, code, now + timedelta(minutes=5), None) is None, "too late"
    assert totp_step(secret, "12345", now, None) is None


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


def test_throttle_through_the_login_form_says_the_same_for_unknown_accounts(
    make_bot: BotFactory,
) -> None:
    with make_bot(CONSOLE_THROTTLE_ACCOUNT_ATTEMPTS=2) as running, httpx.Client() as client:
        with running.db.session() as session:
            create_staff(session, email="a@example.org", role="agent", password=PASSWORD)
        console = Console(running, client)
        wrong = console.login("a@example.org", "bad one")
        unknown = console.login("nobody@example.org", "bad one")
        assert wrong.status_code == unknown.status_code == 401
        assert _alert(wrong.text) == _alert(unknown.text) == "Wrong email or password."
        console.login("a@example.org", "bad two")
        console.login("nobody@example.org", "bad two")
        throttled = console.login("a@example.org")
        assert throttled.status_code == 401 and "Wait 15 minutes" in _alert(throttled.text)
        assert _alert(console.login("nobody@example.org").text) == _alert(throttled.text)
        assert "supervisor" not in throttled.text


def _alert(html: str) -> str:
    return html.split('role="alert">')[1].split("<")[0]


def test_a_cookie_copied_before_logout_is_refused_afterwards(
    login: Callable[[str], Console],
) -> None:
    agent = login("agent@example.org")
    cookie = agent.client.cookies[COOKIE]
    assert len(cookie) >= 40 and "." not in cookie, "a random id, nothing signed or readable"
    with agent.bot.db.sessions() as session:
        stored = session.scalars(select(ConsoleSession.id)).all()
    assert cookie not in stored, "only a hash of the token is stored"
    assert agent.post("/console/logout", {}).status_code == 303
    with httpx.Client(cookies={COOKIE: cookie}) as thief:
        response = thief.get(f"{agent.bot.url}/console/")
        assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_a_password_change_ends_the_other_sessions(login: Callable[[str], Console]) -> None:
    here, elsewhere = login("agent@example.org"), login("agent@example.org")
    changed = here.post(
        "/console/account/password",
        {"current": PASSWORD, "new": "a brand new passphrase", "repeat": "a brand new passphrase"},
    )
    assert changed.status_code == 303
    assert here.get("/console/").status_code == 200, "this browser got a new session"
    assert elsewhere.get("/console/").status_code == 303
    with httpx.Client() as fresh:
        again = Console(here.bot, fresh)
        assert again.login("agent@example.org").status_code == 401
        assert again.login("agent@example.org", "a brand new passphrase").status_code == 303


def test_an_admin_reset_forces_a_new_password_at_the_next_login(
    login: Callable[[str], Console],
) -> None:
    agent, admin = login("agent@example.org"), login("admin@example.org")
    with agent.bot.db.sessions() as session:
        agent_id = session.scalars(select(Staff.id).where(Staff.email == "agent@example.org")).one()
    reset = admin.post(
        f"/console/staff/{agent_id}", {"change": "reset_password", "password": "temporary pass 1"}
    )
    assert reset.status_code == 303
    assert agent.get("/console/").status_code == 303, "the reset ended her session"
    with httpx.Client() as fresh:
        again = Console(agent.bot, fresh)
        step = again.login("agent@example.org", "temporary pass 1")
        assert step.headers["location"] == "/console/account/password"
        assert again.get("/console/").headers["location"] == "/console/account/password"
        token = csrf_of(again.get("/console/account/password").text)
        new = "my own passphrase"
        done = again.client.post(
            f"{again.bot.url}/console/account/password",
            data={"current": "temporary pass 1", "new": new, "repeat": new, "csrf_token": token},
        )
        assert done.headers["location"] == "/console/"
        assert again.get("/console/").status_code == 200


def test_supervisors_must_enrol_a_second_factor_then_give_codes(console_bot: RunningBot) -> None:
    with console_bot.db.session() as session:
        create_staff(session, email="boss@example.org", role="supervisor", password=PASSWORD)
    with httpx.Client() as client:
        console = Console(console_bot, client)
        first = console.login("boss@example.org", code=False)
        assert first.headers["location"] == "/console/account/totp"
        assert console.get("/console/audit").headers["location"] == "/console/account/totp"
        page = console.get("/console/account/totp").text
        uri = page.split('id="totp-uri">')[1].split("<")[0].replace("&amp;", "&")
        secret = pyotp.parse_uri(uri).secret
        token = csrf_of(page)
        wrong = client.post(
            f"{console_bot.url}/console/account/totp", data={"code": "000000", "csrf_token": token}
        )
        assert wrong.status_code == 400
        code = pyotp.TOTP(secret).now()
        done = client.post(
            f"{console_bot.url}/console/account/totp", data={"code": code, "csrf_token": token}
        )
        assert done.headers["location"] == "/console/"
        assert console.get("/console/audit").status_code == 200
    with httpx.Client() as client:
        console = Console(console_bot, client)
        assert console.login("boss@example.org", code=False).headers["location"] == (
            "/console/login/code"
        )
        assert console.get("/console/").headers["location"] == "/console/login/code"
        token = csrf_of(console.get("/console/login/code").text)
        replay = client.post(
            f"{console_bot.url}/console/login/code", data={"code": code, "csrf_token": token}
        )
        assert replay.status_code == 401, "a code already used is refused"
        later = pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))
        ok = client.post(
            f"{console_bot.url}/console/login/code", data={"code": later, "csrf_token": token}
        )
        assert ok.headers["location"] == "/console/"
        assert console.get("/console/audit").status_code == 200


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
