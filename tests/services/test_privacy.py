"""Versioned pseudonym keys, delete-my-data re-keying, and retention (`purge`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import (
    AnalyticsEvent,
    AnalyticsMonthly,
    Case,
    CaseMessage,
    CaseNote,
    Conversation,
    Demographic,
    OutboxMessage,
    PseudonymKey,
    Staff,
    User,
)
from bot.dialogue.i18n import Translator
from bot.services import analytics, cases, indicators, privacy, pseudonyms
from bot.services.pseudonyms import current_key, live_keys, reporting_year
from bot.settings import get_settings
from tests.fixtures.bot import RunningBot, reply_payloads, reply_text

DEC_2025 = datetime(2025, 12, 15, 9, tzinfo=UTC)
FEB_2026 = datetime(2026, 2, 10, 9, tzinfo=UTC)


def _user(session: Session, address: str, language: str | None = "bn") -> User:
    user = User(channel="messenger", address=address, language=language)
    session.add(user)
    session.flush()
    return user


def _record(
    session: Session, user: User, at: datetime, monkeypatch: pytest.MonkeyPatch, resource: str
) -> None:
    monkeypatch.setattr("bot.services.analytics.utcnow", lambda: at)
    analytics.record(session, user, intent=None, flow="tips", step="fees", resource=resource)
    session.flush()


def _keys(session: Session, model: type[AnalyticsEvent] | type[AnalyticsMonthly]) -> list[str]:
    return list(session.scalars(select(model.user_key)))


def test_reporting_years_follow_the_configured_start() -> None:
    assert reporting_year(date(2026, 1, 1), "2026-01") == 2026
    assert reporting_year(date(2026, 3, 31), "2026-04") == 2025
    assert reporting_year(date(2026, 4, 1), "2026-04") == 2026


def test_key_is_stable_within_a_year_and_rotates_with_it(session: Session) -> None:
    first = current_key(session, "viber", "V1", FEB_2026)
    assert current_key(session, "viber", "V1", FEB_2026 + timedelta(days=300)) == first
    assert current_key(session, "viber", "V2", FEB_2026)[1] != first[1]
    older = current_key(session, "viber", "V1", DEC_2025)
    assert (first[0], older[0]) == ("2026", "2025") and older[1] != first[1]
    assert "V1" not in first[1] and len(first[1]) == 64
    assert len(session.scalars(select(PseudonymKey.secret_enc)).all()) == 2


def test_delete_rekeys_events_under_every_live_version(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    person, other = _user(session, "P1"), _user(session, "P2")
    for at in (DEC_2025, FEB_2026, FEB_2026):
        _record(session, person, at, monkeypatch, "tips:fees")
    _record(session, other, FEB_2026, monkeypatch, "tips:fees")
    version, key = current_key(session, "messenger", "P1", FEB_2026)
    session.add(Demographic(user_key=key, key_version=version, sex="female"))
    others_key = current_key(session, "messenger", "P2", FEB_2026)[1]

    privacy.delete_user_data(session, person, "user_request")
    session.flush()
    linkable = set(live_keys(session, "messenger", "P1"))
    assert len(linkable) == 2
    for model in (AnalyticsEvent, AnalyticsMonthly):
        assert not linkable & set(_keys(session, model))
        assert others_key in _keys(session, model)
    assert session.scalar(select(func.count(AnalyticsEvent.id))) == 4, "events still count"
    assert session.scalar(select(func.count()).select_from(Demographic)) == 0
    # Each year's events moved to one random key: still one person per month and year.
    doc = indicators.report(session, "2025-12", "2026-02", get_settings())
    learn = {m["month"]: m["families"]["learn"] for m in doc["months"]}
    assert (learn["2025-12"]["unique_users"], learn["2026-02"]["unique_users"]) == (1, 2)
    assert learn["2026-02"]["interactions"] == 3


def test_purge_destroys_closed_years_keys_after_the_grace_period(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = _user(session, "P3")
    _record(session, person, DEC_2025, monkeypatch, "tips:fees")
    _record(session, person, FEB_2026, monkeypatch, "tips:fees")
    settings = get_settings()  # reporting years start in January, keys kept 90 days after
    assert privacy.purge(session, settings, datetime(2026, 3, 31, tzinfo=UTC)).destroyed_keys == []
    purged = privacy.purge(session, settings, datetime(2026, 4, 1, tzinfo=UTC))
    assert purged.destroyed_keys == ["2025"]
    assert session.get_one(PseudonymKey, "2025").secret_enc is None
    old_key = session.scalars(
        select(AnalyticsEvent.user_key).where(AnalyticsEvent.key_version == "2025")
    ).one()
    assert old_key not in live_keys(session, "messenger", "P3")  # unlinkable for good
    privacy.delete_user_data(session, person, "user_request")
    assert (
        session.scalars(
            select(AnalyticsEvent.user_key).where(AnalyticsEvent.key_version == "2025")
        ).one()
        == old_key
    ), "nothing left that could find it"


def test_the_years_key_is_read_once_and_forgotten_when_destroyed(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each turn needs the year's key: it is read and decrypted once a minute, not per turn;
    destroying keys drops the kept one at once, so a destroyed year cannot key anything."""
    reads: list[str] = []
    monkeypatch.setattr(pseudonyms, "_version_secret", _counting(pseudonyms._version_secret, reads))
    first = current_key(session, "messenger", "P4", DEC_2025)
    assert current_key(session, "messenger", "P5", DEC_2025)[1] != first[1]
    assert current_key(session, "messenger", "P4", DEC_2025) == first
    assert reads == ["2025"]
    privacy.purge(session, get_settings(), datetime(2026, 4, 1, tzinfo=UTC))
    with pytest.raises(RuntimeError, match="destroyed"):
        current_key(session, "messenger", "P4", DEC_2025)


def _counting(read: Any, reads: list[str]) -> Any:
    def counted(session: Session, version: str) -> str | None:
        reads.append(version)
        return read(session, version)

    return counted


def test_purge_applies_retention(session: Session) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    staff = Staff(email="s@example.org", password_hash="x", role="agent")
    session.add(staff)
    kept_user = _user(session, "P4")
    _user(session, "P5", language=None)  # what delete_user_data leaves behind
    waiting = _user(session, "P6", language=None)  # the same, confirmation not yet sent
    session.add(OutboxMessage(user_id=waiting.id, channel="messenger", payload={}))

    def case(resolved_days_ago: int | None) -> Case:
        found = cases.open_case(session, kept_user, priority="normal", trigger="t", flow_path=[])
        cases.append_transcript(session, found, direction="in", text="private words")
        session.add(CaseNote(case_id=found.id, staff_id=staff.id, text_enc=b"x"))
        if resolved_days_ago is not None:
            found.status, found.resolved_at = "resolved", now - timedelta(days=resolved_days_ago)
        session.flush()
        return found

    old, recent, still_open = case(91), case(89), case(None)
    still_open.opened_at = now - timedelta(days=400)
    session.add_all(
        [
            Conversation(user_id=kept_user.id, slots={}, path=[]),
            Conversation(user_id=waiting.id, slots={}, path=[]),
        ]
    )
    session.flush()
    session.get_one(Conversation, kept_user.id).updated_at = now - timedelta(days=31)
    session.get_one(Conversation, waiting.id).updated_at = now - timedelta(days=29)
    session.flush()

    purged = privacy.purge(session, get_settings(), now)
    session.expire_all()
    per_case = select(CaseMessage.case_id, func.count()).group_by(CaseMessage.case_id)
    texts = dict(session.execute(per_case).all())
    assert texts == {recent.id: 1, still_open.id: 1}
    assert set(session.scalars(select(CaseNote.case_id))) == {recent.id, still_open.id}
    assert session.scalars(select(Conversation.user_id)).all() == [waiting.id]
    assert set(session.scalars(select(User.address))) == {"P4", "P6"}
    assert purged.counts["case_messages"] == 1 and purged.counts["erased_users"] == 1
    assert old.outcome is None, "the case itself (no text) stays for the figures"


@pytest.mark.parametrize("erase", ["privacy.delete", "privacy.erase"])
def test_delete_and_quick_erase_through_the_webhook(bot: RunningBot, erase: str) -> None:
    bot.tap("V-del", "start.privacy|lang=km", "viber")
    bot.tap("V-del", "tips.fees", "viber")
    bot.tap("V-del", "human.start", "viber")
    # Danger now, so the bot answers during the case (the numbers) and keeps the words.
    bot.say("V-del", "they took my passport and locked me in", "viber")
    menu = reply_payloads(bot.tap("V-del", "menu.main", "viber")[-1])
    assert "privacy.confirm" in menu and "privacy.erase" in menu
    replies = [reply_text(body) for body in bot.tap("V-del", erase, "viber")]
    key = "privacy.deleted" if erase == "privacy.delete" else "privacy.erased"
    assert replies == [Translator()(key, "km")]
    with bot.db.sessions() as session:
        user = session.scalars(select(User).where(User.address == "V-del")).one()
        assert (user.language, user.country) == (None, None)
        assert session.get(Conversation, user.id) is None
        assert session.scalar(select(func.count()).select_from(CaseMessage)) == 0
        case = session.scalars(select(Case)).one()
        assert (case.status, case.outcome, case.user_id) == ("resolved", "deleted_by_user", None)
        linkable = set(live_keys(session, "viber", "V-del"))
        stored = set(session.scalars(select(AnalyticsEvent.user_key)))
        assert len(stored) == 1 and not stored & linkable, "still counted, never linked"
        resources = set(session.scalars(select(AnalyticsEvent.resource)))
        assert {"tips:fees", "escalation:talk_to_person"} <= resources


def test_delete_erases_the_staff_notes_on_the_persons_cases(session: Session) -> None:
    staff = Staff(email="n@example.org", password_hash="x", role="agent")
    session.add(staff)
    person, other = _user(session, "P7"), _user(session, "P8")
    mine = cases.open_case(session, person, priority="normal", trigger="t", flow_path=[])
    theirs = cases.open_case(session, other, priority="normal", trigger="t", flow_path=[])
    session.flush()
    session.add_all(
        [
            CaseNote(case_id=mine.id, staff_id=staff.id, text_enc=b"her boss, Mr X"),
            CaseNote(case_id=theirs.id, staff_id=staff.id, text_enc=b"kept"),
        ]
    )
    session.flush()
    privacy.delete_user_data(session, person, "user_request")
    assert session.scalars(select(CaseNote.case_id)).all() == [theirs.id]
