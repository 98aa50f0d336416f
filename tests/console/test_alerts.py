"""Supervisors see urgent cases nobody answered in time, on every page, and acknowledge them
(recorded on the alert and in the audit log); agents see none of it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.db.models import Alert, AuditEntry, Staff
from tests.console.conftest import Console, overdue_alert

BANNER = "alert-banner"


def test_a_supervisor_sees_the_alert_and_acknowledges_it(
    login: Callable[[str], Console],
) -> None:
    agent, boss = login("agent@example.org"), login("super@example.org")
    case_id = overdue_alert(boss.bot, "P-waiting")
    with boss.bot.db.sessions() as session:
        alert_id = session.scalars(select(Alert.id).where(Alert.case_id == case_id)).one()

    for path in ("/console/", "/console/report", f"/console/cases/{case_id}"):
        page = boss.get(path).text
        assert f"Urgent case #{case_id}</a>" in page and "has waited 17 min with no reply" in page
        assert f'href="/console/cases/{case_id}"' in page
    assert (
        f'action="/console/alerts/{alert_id}/acknowledge"'
        in boss.get("/console/alerts/banner").text
    )
    assert boss.get("/console/alerts").json()["alerts"] == [[alert_id, case_id]]

    assert BANNER not in agent.get("/console/").text
    assert agent.get("/console/alerts").json()["alerts"] == []
    assert agent.get("/console/alerts/banner").status_code == 403
    assert agent.post(f"/console/alerts/{alert_id}/acknowledge", {}).status_code == 403
    refused = boss.post(f"/console/alerts/{alert_id}/acknowledge", {}, csrf=False)
    assert refused.status_code == 403, "no CSRF token, no acknowledgement"

    done = boss.post(f"/console/alerts/{alert_id}/acknowledge", {})
    assert (done.status_code, done.headers["location"]) == (303, "/console/")
    assert boss.post(f"/console/alerts/{alert_id}/acknowledge", {}).status_code == 303
    assert BANNER not in boss.get("/console/").text
    assert boss.get("/console/alerts/banner").text.strip() == ""
    with boss.bot.db.sessions() as session:
        alert = session.get_one(Alert, alert_id)
        by = session.scalars(select(Staff.email).where(Staff.id == alert.acknowledged_by)).one()
        acks = session.execute(
            select(AuditEntry.case_id, Staff.email)
            .join(Staff, Staff.id == AuditEntry.staff_id)
            .where(AuditEntry.action == "alert_ack")
        ).all()
    assert alert.acknowledged_at is not None and by == "super@example.org"
    assert [tuple(row) for row in acks] == [(case_id, "super@example.org")], "audited once"
