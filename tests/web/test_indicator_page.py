"""The console's indicator page (supervisors only): SVG charts against targets, CSV download.

It lives here rather than in tests/console/ (the console's own suite); it reuses that suite's
logged-in client.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.clock import utcnow
from bot.console.indicators import chart
from bot.db.models import AuditEntry
from tests.console.conftest import Console, make_staff
from tests.fixtures.bot import RunningBot


def _login(bot: RunningBot, email: str, role: str) -> Console:
    with bot.db.session() as session:
        make_staff(session, email, role)
    console = Console(bot, httpx.Client(timeout=30))
    assert console.login(email).status_code == 303
    return console


def test_supervisor_sees_charts_and_downloads_csv(bot: RunningBot) -> None:
    month = utcnow().strftime("%Y-%m")
    for user in ("psid-1", "psid-2"):
        bot.tap(user, "start.privacy|lang=en")
        bot.tap(user, "tips.fees")
    supervisor = _login(bot, "super@example.org", "supervisor")
    page = supervisor.get(f"/console/indicators?from={month}&to={month}")
    assert page.status_code == 200
    assert page.text.count("<svg") == 4 and "learn" in page.text
    assert f"<title>{month}: 2" in page.text  # learn: two people this month
    csv = supervisor.get(f"/console/indicators/csv?from={month}&to={month}")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert f"{month},learn,total,,2,2," in csv.text
    with bot.db.sessions() as session:
        seen = session.execute(select(AuditEntry.action, AuditEntry.detail)).all()
    assert ("export", f"/console/indicators/csv?from={month}&to={month}") in seen
    assert ("view", f"/console/indicators?from={month}&to={month}") in seen
    assert supervisor.get("/console/indicators?from=2026-13&to=2026-01").status_code == 200

    agent = _login(bot, "agent@example.org", "agent")
    assert agent.get("/console/indicators").status_code == 403
    assert agent.get("/console/indicators/csv").status_code == 403
    supervisor.client.close()
    agent.client.close()


def test_chart_scales_bars_and_target_lines() -> None:
    doc = {
        "months": [
            {"month": m, "families": {"learn": {"unique_users": n}}}
            for m, n in (("2026-01", 150), ("2026-02", 600))
        ],
        "progress": {
            "2026-01": {"learn": {"per": "month", "target": 300, "achieved": 150}},
            "2026-02": {"learn": {"per": "month", "target": 300, "achieved": 600}},
        },
    }
    drawn = chart(doc, "learn")
    assert drawn.top == 600
    low, high = drawn.bars
    assert (high.y, high.height, low.height) == (0, 176, 44)
    assert low.target_y == high.target_y == 88
