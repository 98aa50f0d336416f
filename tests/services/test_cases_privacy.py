"""Cases dedupe and upgrade; transcripts are encrypted; delete-my-data leaves nothing behind."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.db.models import Case, CaseMessage, Conversation, Demographic, User
from bot.services import cases, crypto, privacy
from bot.services.pseudonyms import current_key


def _user(session: Session) -> User:
    user = User(channel="viber", address="V9", language="bn", country="MY")
    session.add(user)
    session.flush()
    return user


def test_open_case_reuses_and_upgrades(seeded_session: Session) -> None:
    user = _user(seeded_session)
    first = cases.open_case(seeded_session, user, priority="normal", trigger="talk_to_human",
                            flow_path=["menu.main"])  # fmt: skip
    again = cases.open_case(seeded_session, user, priority="urgent", trigger="urgent_help",
                            flow_path=[])  # fmt: skip
    assert first.id == again.id
    assert (again.priority, again.trigger, again.language, again.country) == (
        "urgent", "urgent_help", "bn", "MY",
    )  # fmt: skip
    assert cases.active_case(seeded_session, user) is again


def test_transcript_is_encrypted_and_wakes_a_snoozed_case(seeded_session: Session) -> None:
    user = _user(seeded_session)
    case = cases.open_case(seeded_session, user, priority="normal", trigger="t", flow_path=[])
    case.status = "snoozed"
    line = cases.append_transcript(seeded_session, case, direction="in", text="সাহায্য")
    assert b"\xe0" not in line.text_enc and crypto.decrypt(line.text_enc) == "সাহায্য"
    assert case.status == "open"


def test_delete_user_data(seeded_session: Session) -> None:
    user = _user(seeded_session)
    seeded_session.add(Conversation(user_id=user.id, flow="agency", step="ask", slots={"q": 1}))
    version, key = current_key(seeded_session, user.channel, user.address, utcnow())
    seeded_session.add(Demographic(user_key=key, key_version=version, sex="female"))
    case = cases.open_case(seeded_session, user, priority="urgent", trigger="t", flow_path=[])
    cases.append_transcript(seeded_session, case, direction="in", text="secret")
    seeded_session.flush()

    privacy.delete_user_data(seeded_session, user, "user_request")
    seeded_session.flush()
    count = lambda model: seeded_session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert (count(CaseMessage), count(Conversation), count(Demographic)) == (0, 0, 0)
    closed = seeded_session.scalars(select(Case)).one()
    assert (closed.status, closed.outcome, closed.user_id) == ("resolved", "deleted_by_user", None)
    assert (user.language, user.country, user.platform_language) == (None, None, None)
