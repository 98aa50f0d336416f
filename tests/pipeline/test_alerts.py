"""An urgent case nobody answers: after CONSOLE_URGENT_WAIT_MINUTES supervisors get an alert
the console can list, and the person is told what to do meanwhile. End to end through the
signed webhook, with the job's clock moved on by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.db.models import Alert, Case, OutboxMessage, Staff
from bot.dialogue.i18n import Translator
from bot.services import alerts
from bot.services.alerts import URGENT_UNANSWERED
from bot.services.seed import seed_if_empty
from tests.fixtures.bot import BotFactory, RunningBot, reply_text
from tests.fixtures.clock import ManualClock
from tests.fixtures.servers import wait_until


@pytest.fixture(scope="module")
def t() -> Translator:
    return Translator()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def watched(make_bot: BotFactory, clock: ManualClock) -> Iterator[RunningBot]:
    with make_bot(clock=clock, CONSOLE_URGENT_WAIT_MINUTES=5, HANDOVER_CHECK_SECONDS=0.1) as bot:
        with bot.db.session() as session:
            seed_if_empty(session)
        yield bot


def _alerts(bot: RunningBot) -> list[Alert]:
    with bot.db.sessions() as session:
        return list(session.scalars(select(Alert)))


def _nudges(bot: RunningBot) -> list[OutboxMessage] | None:
    """The bot's messages that answer no inbound event, once all are sent."""
    with bot.db.sessions() as session:
        rows = list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.inbound_id.is_(None)))
        )
    return rows if rows and all(r.status == "sent" for r in rows) else None


def test_unanswered_urgent_case_alerts_supervisors_after_the_wait(
    watched: RunningBot, clock: ManualClock, t: Translator
) -> None:
    watched.tap("P-sos", "start.privacy|lang=en")
    watched.say("P-sos", "help me")
    watched.tap("P-sos", "urgent.numbers|country=TH")
    with watched.db.sessions() as session:
        case_id = session.scalars(select(Case.id)).one()

    clock.advance(minutes=4, seconds=30)
    with pytest.raises(AssertionError):
        wait_until(lambda: _alerts(watched), timeout=0.6)

    clock.advance(minutes=1)
    alert = wait_until(lambda: _alerts(watched), timeout=10)[0]
    assert (alert.kind, alert.case_id, alert.language) == (URGENT_UNANSWERED, case_id, "en")
    with watched.db.session() as session:
        supervisor = Staff(email="sup@example.org", password_hash="-", role="supervisor")
        session.add(supervisor)
        session.flush()
        assert [a.id for a in alerts.unacknowledged(session)] == [alert.id]
        assert alerts.acknowledge(session, alert.id, supervisor.id, clock())
        assert not alerts.acknowledge(session, alert.id, supervisor.id, clock()), "once"
        assert alerts.unacknowledged(session) == []

    sent = wait_until(lambda: _nudges(watched), timeout=10)
    bodies = {r.answer_id: r.body for r in watched.platforms.messenger("P-sos")}
    texts = [reply_text(bodies[row.external_id]) for row in sent]
    assert texts[0] == t("handover.overdue", "en")
    assert "1300" in texts[1] and "191" in texts[1], "what to do meanwhile: numbers to call"
    assert all(row.case_id == case_id for row in sent)

    clock.advance(minutes=10)
    with pytest.raises(AssertionError):
        wait_until(lambda: len(_alerts(watched)) > 1, timeout=0.6)


def test_an_answered_or_normal_case_raises_no_alert(
    watched: RunningBot, clock: ManualClock
) -> None:
    watched.tap("P-calm", "start.privacy|lang=en")
    watched.say("P-calm", "talk to a person")
    watched.tap("P-sos2", "start.privacy|lang=en")
    watched.say("P-sos2", "help me")
    with watched.db.session() as session:
        urgent = session.scalars(select(Case).where(Case.priority == "urgent")).one()
        # A staff reply (as the console records it): the case now waits for the person.
        urgent.status, urgent.waiting_since = "pending", None
    clock.advance(minutes=30)
    with pytest.raises(AssertionError):
        wait_until(lambda: _alerts(watched), timeout=0.8)
