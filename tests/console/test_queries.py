"""Queue order and visibility, snooze wake-up, and the weekly report's figures."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from bot.console import queries
from bot.console.accounts import create_staff
from bot.console.queries import CaseTimes, QueueFilter, percentile, weekly_report
from bot.db.models import Case, Staff, User
from bot.db.session import Database
from tests.console.conftest import PASSWORD

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
URGENT_AFTER = timedelta(minutes=5)
_addresses = itertools.count(1)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.session() as session:
        yield session


def _staff(session: Session, email: str, role: str) -> Staff:
    return create_staff(session, email=email, role=role, password=PASSWORD)


def _case(session: Session, waited_minutes: int | None, **values: object) -> Case:
    user = User(channel=str(values.pop("channel", "messenger")), address=f"U{next(_addresses)}")
    session.add(user)
    session.flush()
    case = Case(
        user_id=user.id,
        channel=user.channel,
        trigger="talk_to_human",
        opened_at=NOW - timedelta(hours=1),
        waiting_since=NOW - timedelta(minutes=waited_minutes) if waited_minutes else None,
        **({"labels": [], "flow_path": []} | values),
    )
    session.add(case)
    session.flush()
    return case


def _ids(session: Session, staff: Staff, where: QueueFilter | None = None) -> list[int]:
    where = where or QueueFilter()
    rows = queries.queue(session, staff, where, now=NOW, urgent_after=URGENT_AFTER)
    return [row.id for row in rows]


def test_urgent_first_then_longest_wait(session: Session) -> None:
    boss = _staff(session, "s@example.org", "supervisor")
    short = _case(session, 2, priority="normal")
    long = _case(session, 40, priority="normal")
    urgent_new = _case(session, 1, priority="urgent")
    urgent_old = _case(session, 9, priority="urgent")
    answered = _case(session, None, priority="normal", status="pending")
    _case(session, 60, priority="urgent", status="resolved")
    assert _ids(session, boss) == [urgent_old.id, urgent_new.id, long.id, short.id, answered.id]
    rows = queries.queue(session, boss, QueueFilter(), now=NOW, urgent_after=URGENT_AFTER)
    assert [r.overdue for r in rows] == [True, False, False, False, False]
    assert rows[0].waiting == timedelta(minutes=9)


def test_filters(session: Session) -> None:
    boss = _staff(session, "s@example.org", "supervisor")
    viber_km = _case(session, 3, channel="viber", language="km", labels=["passport"])
    _case(session, 3, language="my")
    resolved = _case(session, None, status="resolved", language="km")
    assert _ids(session, boss, QueueFilter(channel="viber")) == [viber_km.id]
    assert _ids(session, boss, QueueFilter(language="km")) == [viber_km.id]
    assert _ids(session, boss, QueueFilter(label="passport")) == [viber_km.id]
    assert _ids(session, boss, QueueFilter(status="resolved")) == [resolved.id]


def test_agents_see_unassigned_cases_and_their_own(session: Session) -> None:
    agent, other = _staff(session, "a@example.org", "agent"), _staff(session, "b@x.org", "agent")
    free = _case(session, 5)
    mine = _case(session, 4, assignee_id=agent.id)
    _case(session, 6, assignee_id=other.id)
    assert _ids(session, agent) == [free.id, mine.id]


def test_snoozed_cases_wake_when_their_time_passes(session: Session) -> None:
    until = NOW - timedelta(minutes=1)
    due = _case(session, None, status="snoozed", snoozed_until=until)
    later = _case(session, None, status="snoozed", snoozed_until=NOW + timedelta(hours=1))
    next_message = _case(session, None, status="snoozed")
    queries.wake_snoozed(session, NOW)
    session.expire_all()
    assert (due.status, due.waiting_since) == ("open", until)
    assert (later.status, next_message.status) == ("snoozed", "snoozed")


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([float(n) for n in range(1, 12)], 0.9) == 10.0
    assert percentile([1.0, 100.0], 0.5) == 1.0


def test_weekly_report_by_language_and_priority() -> None:
    monday = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # ISO week 2026-W47

    def case(first: int | None, resolved: int | None, lang: str = "km", prio: str = "urgent"):  # type: ignore[no-untyped-def]
        return CaseTimes(
            opened_at=monday,
            first_response_at=monday + timedelta(minutes=first) if first is not None else None,
            resolved_at=monday + timedelta(minutes=resolved) if resolved is not None else None,
            language=lang,
            priority=prio,
        )

    cases = [case(2, 60), case(4, 120), case(30, None), case(None, None, "my", "normal")]
    cases.append(case(5, 60 * 24 * 7, "my", "normal"))  # resolved the next week
    rows = {(r.week, r.language, r.priority): r for r in weekly_report(cases)}
    km = rows[("2026-W47", "km", "urgent")]
    assert (km.opened, km.resolved) == (3, 2)
    assert (km.first_response.median, km.first_response.p90) == (4.0, 30.0)
    assert (km.resolution.median, km.resolution.p90) == (90.0, 120.0)
    my = rows[("2026-W47", "my", "normal")]
    assert (my.opened, my.resolved, my.first_response.median) == (2, 0, 5.0)
    assert rows[("2026-W48", "my", "normal")].resolved == 1
    assert rows[("2026-W48", "my", "normal")].opened == 0
    assert next(iter(rows))[0] == "2026-W48", "newest week first"


def test_indicators_show_in_the_queue_and_filter_like_labels(session: Session) -> None:
    boss = _staff(session, "s@example.org", "supervisor")
    debt = _case(session, 3, indicators=["debt_bondage", "document_retention"])
    _case(session, 4, labels=["passport"])
    rows = queries.queue(session, boss, QueueFilter(), now=NOW, urgent_after=URGENT_AFTER)
    assert {r.id: r.indicators for r in rows}[debt.id] == ["debt_bondage", "document_retention"]
    assert _ids(session, boss, QueueFilter(label="debt_bondage")) == [debt.id]


def test_cases_counted_by_indicator_per_week() -> None:
    monday = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # ISO week 2026-W47

    def case(days: int, *indicators: str) -> CaseTimes:
        return CaseTimes(monday + timedelta(days=days), None, None, "bn", "normal", indicators)

    weeks, rows = queries.indicator_counts(
        [
            case(0, "debt_bondage", "wage_withholding"),
            case(1, "debt_bondage"),
            case(7, "minor"),
            case(8),
        ]
    )
    assert weeks == ["2026-W48", "2026-W47"]
    by = {r.indicator: (r.per_week, r.total) for r in rows}
    assert by == {
        "wage_withholding": ((0, 1), 1),
        "debt_bondage": ((0, 2), 2),
        "minor": ((1, 0), 1),
    }
    assert [r.indicator for r in rows] == ["wage_withholding", "debt_bondage", "minor"]
