"""The queue and the case view, and every action on a case (POST, then redirect back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.clock import utcnow
from bot.console import audit, canned, handover, queries
from bot.console.auth import AGENT, SUPERVISOR, put_flash, require_role, take_flash
from bot.console.web import HEADERS, render
from bot.db.models import Case, CaseMessage, CaseNote, OutboxMessage, Staff, User
from bot.db.session import Database
from bot.services.crypto import decrypt
from bot.settings import Settings
from bot.understanding.base import LANGUAGES

router = APIRouter()
Agent = Annotated[Staff, Depends(require_role(*AGENT))]
CHANNELS = ("messenger", "viber")


def _db(request: Request) -> Database:
    return request.app.state.db


def queue_filter(
    view: str = "all",
    status: str | None = None,
    language: str | None = None,
    channel: str | None = None,
    label: str | None = None,
    case: str | None = None,
    opened: str | None = None,
) -> queries.QueueFilter:
    """The queue's view and filters from the query string; unknown values mean "any"."""
    number = (case or "").strip().lstrip("#")
    try:
        opened_on = date.fromisoformat(opened) if opened else None
    except ValueError:
        opened_on = None
    return queries.QueueFilter(
        view=view if view in queries.VIEWS else "all",
        status=status if status in handover.STATUSES else None,
        language=language or None,
        channel=channel or None,
        label=(label or "").strip().lower() or None,
        case_id=int(number) if number.isdecimal() and int(number) <= queries.MAX_ID else None,
        opened_on=opened_on,
    )


Filters = Annotated[queries.QueueFilter, Depends(queue_filter)]


def _queue(request: Request, staff: Staff, where: queries.QueueFilter) -> list[queries.QueueRow]:
    settings: Settings = request.app.state.settings
    now = utcnow()
    with _db(request).session() as session:
        queries.wake_snoozed(session, now)
        return queries.queue(
            session,
            staff,
            where,
            now=now,
            urgent_after=timedelta(minutes=settings.CONSOLE_URGENT_WAIT_MINUTES),
        )


@router.get("/")
def queue_page(request: Request, staff: Agent, where: Filters) -> HTMLResponse:
    return render(
        request,
        "queue.html",
        staff,
        rows=_queue(request, staff, where),
        where=where,
        statuses=handover.STATUSES,
        languages=LANGUAGES,
        channels=CHANNELS,
        query=request.url.query,
    )


@router.get("/queue/rows")
def queue_rows(request: Request, staff: Agent, where: Filters) -> HTMLResponse:
    """The queue's rows alone: what the page polls to show new cases without a reload."""
    return render(request, "_queue_rows.html", staff, rows=_queue(request, staff, where))


@router.get("/alerts")
def alerts(request: Request, staff: Agent) -> JSONResponse:
    """Urgent cases in this staff member's queue still waiting for an answer: what every page
    polls for the count in the tab title, the sound and the desktop notification."""
    rows = _queue(request, staff, queries.QueueFilter(status="open"))
    urgent = [row.id for row in rows if row.priority == "urgent" and row.waiting is not None]
    alerted = []  # supervisors only: [alert id, case id] of unacknowledged alerts
    if staff.role in SUPERVISOR:
        with _db(request).session() as session:
            alerted = [[a.id, a.case_id] for a in queries.open_alerts(session, utcnow())]
    return JSONResponse({"urgent": urgent, "alerts": alerted}, headers=HEADERS)


# ---- one case ---------------------------------------------------------------------------


async def allowed_case(
    request: Request, staff: Agent, case_id: Annotated[int, Path(ge=1, le=queries.MAX_ID)]
) -> tuple[Staff, int]:
    """The gate for every case URL: a missing case is 404, someone else's is 403 (audited)."""
    found = await run_in_threadpool(_check, _db(request), staff, case_id)
    if found == "missing":
        raise HTTPException(404, "no such case")
    if found == "denied":
        raise HTTPException(403, "this case is assigned to someone else")
    return staff, case_id


def _check(db: Database, staff: Staff, case_id: int) -> str:
    with db.session() as session:
        case = session.get(Case, case_id)
        if case is None:
            return "missing"
        if not handover.can_open(staff, case):
            audit.record(session, "denied", staff_id=staff.id, case_id=case_id)
            return "denied"
        return "ok"


CaseAccess = Annotated[tuple[Staff, int], Depends(allowed_case)]


@dataclass(frozen=True)
class Line:
    direction: str
    text: str
    original: str | None
    at: datetime
    author: str | None
    delivery: str | None  # staff replies: queued, sent, delivered, seen, failed: why


def _transcript(session: Session, case_id: int) -> list[Line]:
    rows = session.execute(
        select(CaseMessage, Staff.email, OutboxMessage)
        .outerjoin(Staff, Staff.id == CaseMessage.staff_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == CaseMessage.outbox_id)
        .where(CaseMessage.case_id == case_id)
        .order_by(CaseMessage.id)
    )
    return [
        Line(
            direction=message.direction,
            text=decrypt(message.text_enc) if message.text_enc else "",
            original=decrypt(message.original_enc) if message.original_enc else None,
            at=message.created_at,
            author=email,
            delivery=_delivery(sent) if message.direction == "staff" else None,
        )
        for message, email, sent in rows
    ]


def _delivery(row: OutboxMessage | None) -> str:
    if row is None:
        return "unknown"
    if row.status == "failed":
        return f"failed: {row.last_error or 'unknown error'}"
    if row.status == "sent":
        return row.delivery or "sent"
    return "queued"


def _notes(session: Session, case_id: int) -> list[Line]:
    rows = session.execute(
        select(CaseNote, Staff.email)
        .join(Staff, Staff.id == CaseNote.staff_id)
        .where(CaseNote.case_id == case_id)
        .order_by(CaseNote.id)
    )
    return [Line("note", decrypt(n.text_enc), None, n.created_at, email, None) for n, email in rows]


@router.get("/cases/{case_id}")
def case_page(request: Request, access: CaseAccess) -> HTMLResponse:
    staff, case_id = access
    with _db(request).session() as session:
        case = session.get_one(Case, case_id)
        flash = take_flash(session, request)
        user = session.get(User, case.user_id) if case.user_id else None
        assignee = session.get(Staff, case.assignee_id) if case.assignee_id else None
        team = session.scalars(select(Staff).where(Staff.active).order_by(Staff.email)).all()
        context: dict[str, Any] = {
            "case": case,
            "user": user,
            "assignee": assignee,
            "lines": _transcript(session, case_id),
            "notes": _notes(session, case_id),
            "earlier": queries.earlier_cases(session, case),
            "window": handover.reply_window(user, utcnow()),
            "team": team,
            "canned": canned.replies(session, case.language),
        }
    return render(
        request,
        "case.html",
        staff,
        outcomes=handover.OUTCOMES,
        statuses=[s for s in handover.STATUSES if s != "resolved"],
        flash=flash,
        **context,
    )


@router.get("/cases/{case_id}/state")
def case_state(
    request: Request, staff: Agent, case_id: Annotated[int, Path(ge=1, le=queries.MAX_ID)]
) -> JSONResponse:
    """Who holds the case now, polled by its page: an agent whose case was reassigned is told
    at once (and keeps the reply they were typing). Nothing of the conversation is in it."""
    with _db(request).sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise HTTPException(404, "no such case")
        holder = session.get(Staff, case.assignee_id) if case.assignee_id else None
        state = {
            "assignee": holder.email if holder else None,
            "mine": case.assignee_id == staff.id,
            "allowed": handover.can_open(staff, case),
            "status": case.status,
        }
    return JSONResponse(state, headers=HEADERS)


@router.get("/cases/{case_id}/transcript")
def transcript_fragment(request: Request, access: CaseAccess) -> HTMLResponse:
    """The transcript alone, polled by the case page: new messages and delivery receipts."""
    staff, case_id = access
    with _db(request).session() as session:
        lines = _transcript(session, case_id)
    return render(request, "_transcript.html", staff, lines=lines)


def _act(
    request: Request, access: tuple[Staff, int], action: Callable[..., object], *args: object
) -> Response:
    """Run one handover action in a transaction; a refusal comes back as a message on the page."""
    staff, case_id = access
    try:
        with _db(request).session() as session:
            # Locked (PostgreSQL) so actions on one case run one at a time: a double submit
            # then sees the first one's result.
            case = session.get_one(Case, case_id, with_for_update=True)
            action(session, staff, case, *args)
    except handover.Refused as refused:
        with _db(request).session() as session:
            put_flash(session, request, str(refused))
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/claim")
def claim(request: Request, access: CaseAccess) -> Response:
    return _act(request, access, handover.claim)


@router.post("/cases/{case_id}/assign")
def assign(
    request: Request,
    access: CaseAccess,
    assignee: Annotated[int | None, Form(ge=1, le=queries.MAX_ID)] = None,
) -> Response:
    def run(session: Session, staff: Staff, case: Case) -> None:
        target = session.get(Staff, assignee) if assignee else None
        if assignee and target is None:
            raise handover.Refused("No such staff account.")
        handover.assign(session, staff, case, target)

    return _act(request, access, run)


@router.post("/cases/{case_id}/reply")
def reply(request: Request, access: CaseAccess, text: Annotated[str, Form()] = "") -> Response:
    def run(session: Session, staff: Staff, case: Case) -> None:
        channel = request.app.state.channels.get(case.channel)
        handover.reply(session, staff, case, text, channel, utcnow())

    response = _act(request, access, run)
    request.app.state.workers.outbox_wakeup.notify()  # send now, not at the next poll
    return response


@router.post("/cases/{case_id}/note")
def note(request: Request, access: CaseAccess, text: Annotated[str, Form()] = "") -> Response:
    return _act(request, access, handover.note, text)


@router.post("/cases/{case_id}/status")
def status(
    request: Request,
    access: CaseAccess,
    status: Annotated[str, Form()],
    until: Annotated[str, Form()] = "",
    tz_offset: Annotated[int, Form(ge=-16 * 60, le=16 * 60)] = 0,
) -> Response:
    """`until` is the staff member's local time, as their browser's date field shows it;
    `tz_offset` is that browser's offset (JavaScript's getTimezoneOffset: UTC minus local, in
    minutes), so the case wakes when they meant. Without it the time is read as UTC."""

    def run(session: Session, staff: Staff, case: Case) -> None:
        try:
            local = datetime.fromisoformat(until) if until else None
        except ValueError:
            raise handover.Refused("Snooze until: not a date and time.") from None
        snoozed_until = (
            (local.replace(tzinfo=None) + timedelta(minutes=tz_offset)).replace(tzinfo=UTC)
            if local
            else None
        )
        handover.set_status(session, staff, case, status, snoozed_until=snoozed_until, now=utcnow())

    return _act(request, access, run)


@router.post("/cases/{case_id}/labels")
def labels(request: Request, access: CaseAccess, labels: Annotated[str, Form()] = "") -> Response:
    return _act(request, access, handover.set_labels, labels)


@router.post("/cases/{case_id}/resolve")
def resolve(request: Request, access: CaseAccess, outcome: Annotated[str, Form()] = "") -> Response:
    return _act(request, access, lambda s, st, c: handover.resolve(s, st, c, outcome, utcnow()))
