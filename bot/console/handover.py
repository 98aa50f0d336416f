"""Working a case: who may open it, whether the platform still allows a reply, and the actions.

Each action writes its audit entry in the same transaction as the change, so the log cannot
miss a change that happened or show one that did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from bot.channels.base import Channel
from bot.channels.messenger import RESPONSE_WINDOW, TAG_WINDOWS
from bot.console import audit
from bot.console.auth import SUPERVISOR
from bot.db.models import Case, CaseMessage, CaseNote, Staff, User
from bot.messages import Reply
from bot.pipeline import outbox
from bot.services.crypto import decrypt, encrypt

OUTCOMES = (
    "information_given",
    "referred_hotline",
    "referred_partner",
    "urgent_referral",
    "user_unreachable",
    "no_response",
)
STATUSES = ("open", "pending", "snoozed", "resolved")
HUMAN_AGENT_WINDOW = TAG_WINDOWS["HUMAN_AGENT"]
MAX_REPLY = 2000
RESUBMIT_WINDOW = timedelta(seconds=30)  # the same reply again this soon is a double submit


class Refused(Exception):
    """An action the rules do not allow; the message is shown to the staff member as is."""


def can_open(staff: Staff, case: Case) -> bool:
    """Supervisors see every case; an agent sees unassigned cases and their own."""
    return staff.role in SUPERVISOR or case.assignee_id in (None, staff.id)


@dataclass(frozen=True)
class Window:
    """Whether a staff reply can go out now, and with which Messenger tag."""

    allowed: bool
    tag: str | None = None
    reason: str = ""


def reply_window(user: User | None, now: datetime) -> Window:
    """Messenger: RESPONSE within 24 h of the user's last message, HUMAN_AGENT up to 7 days,
    nothing after. Viber: nothing to someone who unsubscribed."""
    if user is None:
        return Window(False, reason="The person deleted their data; they cannot be reached.")
    if user.unreachable:
        if user.channel == "viber":
            return Window(False, reason="The person unsubscribed on Viber; Viber allows no reply.")
        return Window(False, reason="The platform says this person can no longer be reached.")
    if user.opted_out:
        return Window(False, reason="The person sent “stop”; nothing goes out until they write.")
    if user.channel != "messenger":
        return Window(True)
    if user.last_inbound_at is None:
        return Window(False, reason="The person has not written yet; Messenger allows no reply.")
    age = now - user.last_inbound_at
    if age <= RESPONSE_WINDOW:
        return Window(True)
    if age <= HUMAN_AGENT_WINDOW:
        return Window(True, tag="HUMAN_AGENT")
    return Window(
        False,
        reason="The person last wrote more than 7 days ago; Messenger no longer allows a reply.",
    )


def claim(session: Session, staff: Staff, case: Case) -> None:
    # Checked by the UPDATE itself, so of two agents claiming at once only one gets the case.
    take = update(Case).where(Case.id == case.id)
    if staff.role not in SUPERVISOR:
        take = take.where(or_(Case.assignee_id.is_(None), Case.assignee_id == staff.id))
    # An UPDATE's result is a CursorResult (it has rowcount); Session.execute is typed wider.
    taken = cast(
        CursorResult[Any],
        session.execute(
            take.values(assignee_id=staff.id).execution_options(synchronize_session=False)
        ),
    )
    if not taken.rowcount:
        raise Refused("Another person already holds this case.")
    case.assignee_id = staff.id
    audit.record(session, "claim", staff_id=staff.id, case_id=case.id)


def assign(session: Session, staff: Staff, case: Case, assignee: Staff | None) -> None:
    if staff.role not in SUPERVISOR:
        raise Refused("Only a supervisor can assign cases.")
    if assignee is not None and not assignee.active:
        raise Refused("That account is not active.")
    case.assignee_id = assignee.id if assignee else None
    audit.record(
        session,
        "assign",
        staff_id=staff.id,
        case_id=case.id,
        detail=assignee.email if assignee else "unassigned",
    )


def reply(
    session: Session, staff: Staff, case: Case, text: str, channel: Channel | None, now: datetime
) -> CaseMessage:
    """Queue the reply in the outbox (tagged as the platform requires) and keep it in the
    transcript; the case then waits for the person, not for staff."""
    text = text.strip()
    if not text:
        raise Refused("The reply is empty.")
    if len(text) > MAX_REPLY:
        raise Refused(f"A reply can have at most {MAX_REPLY} characters.")
    if case.status == "resolved":
        raise Refused("This case is resolved; the bot is talking to the person again.")
    user = session.get(User, case.user_id) if case.user_id else None
    window = reply_window(user, now)
    if not window.allowed or user is None:
        raise Refused(window.reason)
    if channel is None:
        raise Refused(f"The {case.channel} channel is switched off on this server.")
    if _just_sent(session, staff, case, text, now):
        raise Refused("This reply was already sent; it does not go out twice.")
    rows = outbox.enqueue(
        session, user, [Reply(text)], channel, tag=window.tag, case_id=case.id
    ).rows
    line = CaseMessage(
        case_id=case.id,
        direction="staff",
        text_enc=encrypt(text),
        staff_id=staff.id,
        outbox_id=rows[-1].id,
        created_at=now,
    )
    session.add(line)
    if case.assignee_id is None:
        case.assignee_id = staff.id
    case.first_response_at = case.first_response_at or now
    case.status, case.waiting_since, case.user_notified = "pending", None, True
    audit.record(
        session, "reply", staff_id=staff.id, case_id=case.id, detail=window.tag or "RESPONSE"
    )
    session.flush()
    return line


def _just_sent(session: Session, staff: Staff, case: Case, text: str, now: datetime) -> bool:
    """Whether this staff member's last reply on the case, moments ago, had the same text."""
    last = session.scalars(
        select(CaseMessage)
        .where(
            CaseMessage.case_id == case.id,
            CaseMessage.direction == "staff",
            CaseMessage.staff_id == staff.id,
        )
        .order_by(CaseMessage.id.desc())
        .limit(1)
    ).first()
    return (
        last is not None
        and last.text_enc is not None
        and now - last.created_at < RESUBMIT_WINDOW
        and decrypt(last.text_enc) == text
    )


def note(session: Session, staff: Staff, case: Case, text: str) -> None:
    text = text.strip()
    if not text:
        raise Refused("The note is empty.")
    session.add(CaseNote(case_id=case.id, staff_id=staff.id, text_enc=encrypt(text)))
    audit.record(session, "note", staff_id=staff.id, case_id=case.id)


def set_status(
    session: Session,
    staff: Staff,
    case: Case,
    status: str,
    *,
    snoozed_until: datetime | None,
    now: datetime,
) -> None:
    """open / pending / snoozed (until a time, or with none until the person writes)."""
    if status not in STATUSES or status == "resolved":
        raise Refused("Choose open, pending or snoozed; resolving needs an outcome.")
    if case.status == "resolved":
        raise Refused("This case is resolved; if the person asks again, a new case opens.")
    if snoozed_until is not None and snoozed_until <= now:
        raise Refused("Snooze until a time in the future.")
    case.status = status
    if status == "open":
        case.waiting_since = case.waiting_since or now
    case.snoozed_until = snoozed_until if status == "snoozed" else None
    detail = f"{status} until {snoozed_until:%Y-%m-%d %H:%M}" if snoozed_until else status
    audit.record(session, "status", staff_id=staff.id, case_id=case.id, detail=detail)


def set_labels(session: Session, staff: Staff, case: Case, labels: str) -> None:
    cleaned = sorted({label.strip().lower()[:32] for label in labels.split(",") if label.strip()})
    case.labels = cleaned[:10]
    audit.record(
        session, "labels", staff_id=staff.id, case_id=case.id, detail=",".join(case.labels)
    )


def resolve(session: Session, staff: Staff, case: Case, outcome: str, now: datetime) -> None:
    """Close the case: from the next message on, the bot answers the person again."""
    if outcome not in OUTCOMES:
        raise Refused("Choose an outcome.")
    if case.status == "resolved":
        raise Refused("This case is already resolved.")
    case.status, case.outcome, case.resolved_at = "resolved", outcome, now
    case.waiting_since = case.snoozed_until = None
    audit.record(session, "resolve", staff_id=staff.id, case_id=case.id, detail=outcome)
