"""What the console reads: the queue, a case's surroundings, the weekly supervisor report.

Ordering and statistics are pure functions over plain rows, so they are tested without HTTP.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.orm import Session

from bot.console.auth import SUPERVISOR
from bot.db.models import Case, Staff
from bot.services.alerts import unacknowledged
from bot.vocabulary import Indicator

QUEUE_STATUSES = ("open", "pending")  # what the queue shows unless a status is chosen
VIEWS = ("all", "mine", "unassigned")
MAX_ID = 2**63 - 1  # ids beyond a 64-bit integer name nothing (and would crash the driver)


@dataclass(frozen=True)
class QueueFilter:
    view: str = "all"
    status: str | None = None
    language: str | None = None
    channel: str | None = None
    label: str | None = None
    case_id: int | None = None  # a case searched for by number: any status
    opened_on: date | None = None  # UTC day


@dataclass(frozen=True)
class QueueRow:
    id: int
    priority: str
    status: str
    trigger: str
    channel: str
    language: str | None
    country: str | None
    labels: list[str]
    indicators: list[str]
    assignee: str | None
    opened_at: datetime
    waiting: timedelta | None
    overdue: bool  # urgent and waiting longer than the configured time


def wake_snoozed(session: Session, now: datetime) -> None:
    """Cases snoozed until a time that has passed are open again (and wait from that time)."""
    session.execute(
        update(Case)
        .where(Case.status == "snoozed", Case.snoozed_until.is_not(None), Case.snoozed_until <= now)
        .values(status="open", snoozed_until=None, waiting_since=Case.snoozed_until)
    )


def queue_order(rows: Iterable[QueueRow]) -> list[QueueRow]:
    """Urgent first, then the longest wait first; cases nobody waits on come last, oldest first."""
    return sorted(
        rows,
        key=lambda r: (
            r.priority != "urgent",
            r.waiting is None,
            -(r.waiting or timedelta()).total_seconds(),
            r.opened_at,
        ),
    )


def routed(staff: Staff) -> ColumnElement[bool]:
    """The cases a staff member's queue holds: theirs, and unassigned ones in a language they
    work in (or of unknown language). Supervisors see every case; an account with no
    languages set sees every unassigned case."""
    if staff.role in SUPERVISOR:
        return true()
    unassigned: ColumnElement[bool] = Case.assignee_id.is_(None)
    if staff.languages:
        unassigned = and_(
            unassigned, or_(Case.language.in_(staff.languages), Case.language.is_(None))
        )
    return or_(Case.assignee_id == staff.id, unassigned)


def queue(
    session: Session, staff: Staff, where: QueueFilter, *, now: datetime, urgent_after: timedelta
) -> list[QueueRow]:
    """The cases routed to this staff member, in the chosen view, filtered, in queue order."""
    query = (
        select(Case, Staff.email)
        .outerjoin(Staff, Staff.id == Case.assignee_id)
        .where(routed(staff))
    )
    if where.case_id is not None:
        query = query.where(Case.id == where.case_id)
    else:
        query = query.where(Case.status.in_((where.status,) if where.status else QUEUE_STATUSES))
    if where.view == "mine":
        query = query.where(Case.assignee_id == staff.id)
    elif where.view == "unassigned":
        query = query.where(Case.assignee_id.is_(None))
    if where.language:
        query = query.where(Case.language == where.language)
    if where.channel:
        query = query.where(Case.channel == where.channel)
    if where.opened_on:
        start = datetime.combine(where.opened_on, time(), UTC)
        query = query.where(Case.opened_at >= start, Case.opened_at < start + timedelta(days=1))
    if where.status == "resolved":
        query = query.order_by(Case.resolved_at.desc()).limit(200)
    rows = []
    for case, email in session.execute(query):
        if where.label and where.label not in (*case.labels, *case.indicators):
            continue
        waiting = now - case.waiting_since if case.waiting_since else None
        rows.append(
            QueueRow(
                id=case.id,
                priority=case.priority,
                status=case.status,
                trigger=case.trigger,
                channel=case.channel,
                language=case.language,
                country=case.country,
                labels=list(case.labels),
                indicators=list(case.indicators),
                assignee=email,
                opened_at=case.opened_at,
                waiting=waiting,
                overdue=case.priority == "urgent"
                and waiting is not None
                and case.status == "open"
                and waiting > urgent_after,
            )
        )
    return queue_order(rows)


@dataclass(frozen=True)
class AlertRow:
    id: int
    case_id: int
    waiting: timedelta | None  # None once the case was answered


def open_alerts(session: Session, now: datetime) -> list[AlertRow]:
    """Unacknowledged alerts with how long each case has now waited, for the supervisors' banner."""
    rows = []
    for alert in unacknowledged(session):
        since = session.get_one(Case, alert.case_id).waiting_since
        rows.append(AlertRow(alert.id, alert.case_id, now - since if since else None))
    return rows


def earlier_cases(session: Session, case: Case) -> list[Case]:
    if case.user_id is None:
        return []
    return list(
        session.scalars(
            select(Case)
            .where(Case.user_id == case.user_id, Case.id != case.id)
            .order_by(Case.opened_at.desc())
        )
    )


# ---- the weekly report ------------------------------------------------------------------


@dataclass(frozen=True)
class CaseTimes:
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    language: str | None
    priority: str
    indicators: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spread:
    median: float | None  # minutes
    p90: float | None


@dataclass(frozen=True)
class ReportRow:
    week: str  # ISO week, e.g. 2026-W47
    language: str
    priority: str
    opened: int
    resolved: int
    first_response: Spread
    resolution: Spread


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values at or
    below it (an actual observed time, which staff can find in the log)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * fraction - 1e-9))
    return ordered[rank - 1]


def _spread(minutes: list[float]) -> Spread:
    return Spread(median(minutes) if minutes else None, percentile(minutes, 0.9))


def weekly_report(cases: Iterable[CaseTimes]) -> list[ReportRow]:
    """Per ISO week, language and priority: cases opened and resolved that week, and the
    first-response and resolution times (minutes) of the cases opened that week."""
    opened: dict[tuple[str, str, str], list[CaseTimes]] = defaultdict(list)
    resolved: dict[tuple[str, str, str], int] = defaultdict(int)
    for case in cases:
        language = case.language or "unknown"
        opened[(week_of(case.opened_at), language, case.priority)].append(case)
        if case.resolved_at is not None:
            resolved[(week_of(case.resolved_at), language, case.priority)] += 1
    rows = []
    for key in sorted(set(opened) | set(resolved), reverse=True):
        group = opened.get(key, [])
        first = [_minutes(c.opened_at, c.first_response_at) for c in group if c.first_response_at]
        closed = [_minutes(c.opened_at, c.resolved_at) for c in group if c.resolved_at]
        rows.append(
            ReportRow(*key, len(group), resolved.get(key, 0), _spread(first), _spread(closed))
        )
    return rows


@dataclass(frozen=True)
class IndicatorCounts:
    """Cases opened per ISO week (newest first, as `weeks`) carrying one distress indicator."""

    indicator: str
    per_week: tuple[int, ...]
    total: int


def indicator_counts(cases: Iterable[CaseTimes]) -> tuple[list[str], list[IndicatorCounts]]:
    """The weeks that opened cases, and per indicator heard, how many of those cases carry it
    (a case with two indicators counts under both)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    weeks: set[str] = set()
    for case in cases:
        week = week_of(case.opened_at)
        weeks.add(week)
        for indicator in case.indicators:
            counts[indicator][week] += 1
    ordered = sorted(weeks, reverse=True)
    rows = [
        IndicatorCounts(
            indicator,
            tuple(counts[indicator].get(w, 0) for w in ordered),
            sum(counts[indicator].values()),
        )
        for indicator in [str(i) for i in Indicator]
        if indicator in counts
    ]
    return ordered, rows


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def case_times(session: Session, since: datetime) -> list[CaseTimes]:
    rows = session.execute(
        select(
            Case.opened_at,
            Case.first_response_at,
            Case.resolved_at,
            Case.language,
            Case.priority,
            Case.indicators,
        ).where(or_(Case.opened_at >= since, Case.resolved_at >= since))
    )
    return [
        CaseTimes(opened, first, resolved, language, priority, tuple(indicators or ()))
        for opened, first, resolved, language, priority, indicators in rows
    ]
