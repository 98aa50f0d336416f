"""Accounts: `safestep staff create` and the admin page; the supervisor report page."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.clock import utcnow
from bot.console.auth import Policy, authenticate
from bot.db.models import AuditEntry, Case, Staff
from bot.db.session import Database
from tests.console.conftest import Console


def _cli(database_url: str, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "safestep"), "staff", "create", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
        timeout=60,
        check=False,
    )


def test_staff_create_reads_the_password_from_stdin(sqlite_url: str) -> None:
    done = _cli(
        sqlite_url, "--email", "Lead@Example.org", "--role", "admin", stdin="s3cret-pass-1\n"
    )
    assert done.returncode == 0, done.stderr
    assert "created lead@example.org (admin)" in done.stdout
    again = _cli(sqlite_url, "--email", "lead@example.org", "--role", "admin", stdin="whatever12\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    short = _cli(sqlite_url, "--email", "b@example.org", "--role", "agent", stdin="short\n")
    assert short.returncode == 1 and "at least 10" in short.stderr
    database = Database(sqlite_url)
    with database.session() as session:
        staff, why = authenticate(
            session,
            "lead@example.org",
            "s3cret-pass-1",
            ip="127.0.0.1",
            device_staff=None,
            now=utcnow(),
            policy=Policy(5, 20, 15),
        )
        assert why == "ok" and staff is not None and staff.role == "admin"
        assert session.scalars(select(AuditEntry.action)).all() == ["staff_create"]
    database.dispose()


def test_admin_creates_accounts_and_deactivation_releases_cases(
    login: Callable[[str], Console],
) -> None:
    admin = login("admin@example.org")
    created = admin.post(
        "/console/staff",
        {
            "email": "new@example.org",
            "role": "agent",
            "password": "long enough pw",
            "languages": "my",
        },
    )
    assert created.status_code == 303
    bad = admin.post("/console/staff", {"email": "x", "role": "agent", "password": "long enough"})
    assert bad.status_code == 400 and "not an email address" in bad.text
    with admin.bot.db.session() as session:
        new = session.scalars(select(Staff).where(Staff.email == "new@example.org")).one()
        assert (new.role, new.languages) == ("agent", ["my"])
        held = Case(
            channel="viber",
            language="my",
            priority="urgent",
            trigger="urgent_help",
            status="open",
            labels=[],
            flow_path=[],
            assignee_id=new.id,
        )
        session.add(held)
    with httpx.Client() as fresh:
        new_console = Console(admin.bot, fresh)
        assert new_console.login("new@example.org", "long enough pw").status_code == 303
        admin.post(f"/console/staff/{new.id}", {"change": "deactivate"})
        assert new_console.get("/console/").status_code == 303
    with admin.bot.db.sessions() as session:
        assert session.get_one(Case, held.id).assignee_id is None, "back to the unassigned queue"
    assert "1 open cases back to the queue" in admin.get("/console/audit").text


def test_supervisor_report_page(login: Callable[[str], Console]) -> None:
    boss = login("super@example.org")
    opened = utcnow() - timedelta(hours=2)
    with boss.bot.db.session() as session:
        session.add(
            Case(
                channel="viber",
                language="bn",
                priority="urgent",
                trigger="urgent_help",
                status="resolved",
                labels=[],
                flow_path=[],
                opened_at=opened,
                first_response_at=opened + timedelta(minutes=3),
                resolved_at=opened + timedelta(minutes=45),
            )
        )
    page = boss.get("/console/report").text
    row = page.split("<td>bn</td>")[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    assert cells == ["urgent", "1", "1", "3", "3", "45", "45"]
