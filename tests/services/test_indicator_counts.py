"""The counters kept with each event equal a direct count over the events, whatever happens.

The direct count is the definition the report had before counters (distinct keys per month
and family, by the key's current sex, channel, language and country; year-to-date keys per
family): each scenario checks the live counters, and a rebuild, against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from bot.db.models import AnalyticsEvent, Demographic, IndicatorState, User
from bot.services import analytics, indicator_counts, indicators, privacy
from bot.services.indicator_config import families_of, load_config
from bot.services.pseudonyms import current_key
from bot.settings import get_settings

MONTHS = indicators.months_between("2026-01", "2026-04")


def _direct(session: Session) -> dict[str, Any]:
    """The figures counted from the events themselves (the old report's definition)."""
    config, start = load_config(), get_settings().REPORTING_YEAR_START
    sexes = {k: s for k, s in session.execute(select(Demographic.user_key, Demographic.sex))}
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    cells: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    interactions: dict[tuple[str, str], int] = defaultdict(int)
    events = session.scalars(select(AnalyticsEvent).where(AnalyticsEvent.resource.is_not(None)))
    for e in events:
        found = families_of(str(e.resource), config)
        for family in [*found, "*"] if found else []:
            users[e.month, family].add(e.user_key)
            interactions[e.month, family] += 1
        for family in found:
            values = {
                "sex": sexes.get(e.user_key, "not_stated"),
                "channel": e.channel,
                "language": e.language or "unknown",
                "country": e.country or "unknown",
            }
            for dimension, value in values.items():
                cells[e.month, family, dimension][value].add(e.user_key)
    figures = {}
    for month in MONTHS:
        year = indicator_counts.year_of(month, start)
        families = {
            name: {
                "unique_users": len(users[month, name]),
                "interactions": interactions[month, name],
                **{
                    f"by_{d}": {v: len(k) for v, k in cells[month, name, d].items()}
                    for d in indicators.DIMENSIONS
                },
                "year_to_date": len(
                    set().union(*(users[m, name] for m in MONTHS if year <= m <= month))
                ),
            }
            for name in config.families
        }
        figures[month] = {"families": families, "anyone": len(users[month, "*"])}
    return figures


def _counted(session: Session) -> dict[str, Any]:
    return indicators._figures(session, MONTHS, load_config(), get_settings().REPORTING_YEAR_START)


def _rebuilt(session: Session) -> dict[str, Any]:
    session.execute(delete(IndicatorState))
    settings = get_settings()
    indicator_counts.current(session, load_config(), settings.REPORTING_YEAR_START)
    return _counted(session)


@pytest.fixture
def serve(session: Session, monkeypatch: pytest.MonkeyPatch) -> Callable[..., User]:
    """Record a served resource for a person in a month of 2026 (counters already live)."""
    settings = get_settings()
    indicator_counts.current(session, load_config(), settings.REPORTING_YEAR_START)

    def served(address: str, month: int, resource: str | None, **details: str) -> User:
        user = session.scalars(select(User).where(User.address == address)).one_or_none()
        if user is None:
            user = User(channel=details.get("channel", "viber"), address=address)
            session.add(user)
        user.language, user.country = details.get("language", "km"), details.get("country")
        session.flush()
        at = datetime(2026, month, 3, tzinfo=UTC)
        monkeypatch.setattr("bot.services.analytics.utcnow", lambda: at)
        analytics.record(session, user, intent=None, flow="f", step="s", resource=resource)
        session.flush()
        return user

    return served


def _sex(session: Session, user: User, month: int, sex: str) -> None:
    version, key = current_key(session, user.channel, user.address, datetime(2026, month, 3))
    row = session.get(Demographic, key) or Demographic(user_key=key, key_version=version)
    row.sex = sex
    session.add(row)
    session.flush()


def test_an_event_with_nothing_to_count_reads_the_counters_only_after_an_answer(
    session: Session, serve: Callable[..., User]
) -> None:
    a = serve("A", 1, "hotline:TH:all")
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "indicator_state" in statement:
            reads.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", seen)
    try:
        serve("A", 1, None)  # a greeting: no resource, no answer given
        assert reads == []
        _sex(session, a, 1, "female")
        serve("A", 1, None)  # the turn that saved the answer moves the counts
        assert len(reads) == 1
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", seen)
    assert _counted(session)["2026-01"]["families"]["find_help"]["by_sex"] == {"female": 1}


def test_a_person_in_two_months_and_two_families(
    session: Session, serve: Callable[..., User]
) -> None:
    serve("A", 1, "hotline:TH:all")
    serve("A", 1, "hotline:TH:all")
    serve("A", 2, "escalation:urgent")  # find_help and talk_to_person
    serve("A", 2, "tips:fees", language="my", country="TH")
    serve("B", 2, "hotline:TH:all", channel="messenger")
    serve("B", 3, "escalation:misunderstood")  # no family
    serve("C", 3, None)
    counted = _counted(session)
    assert counted == _direct(session)
    feb = counted["2026-02"]
    assert feb["families"]["find_help"]["unique_users"] == 2
    assert feb["families"]["find_help"]["year_to_date"] == 2
    assert feb["families"]["learn"]["by_language"] == {"my": 1}
    assert counted["2026-01"]["families"]["find_help"]["interactions"] == 2
    assert feb["anyone"] == 2 and counted["2026-03"]["anyone"] == 0
    assert _rebuilt(session) == counted


def test_sex_stated_later_moves_every_month_it_counted_in(
    session: Session, serve: Callable[..., User]
) -> None:
    a = serve("A", 1, "hotline:TH:all")
    serve("A", 2, "tips:fees")
    serve("B", 2, "tips:fees")
    _sex(session, a, 2, "female")
    serve("A", 2, None)  # the turn that saved the answer is logged with it
    counted = _counted(session)
    assert counted == _direct(session)
    assert counted["2026-01"]["families"]["find_help"]["by_sex"] == {"female": 1}
    assert counted["2026-02"]["families"]["learn"]["by_sex"] == {"female": 1, "not_stated": 1}
    _sex(session, a, 2, "other")
    serve("A", 3, "tips:fees")
    counted = _counted(session)
    assert counted == _direct(session)
    assert counted["2026-02"]["families"]["learn"]["by_sex"] == {"other": 1, "not_stated": 1}
    assert _rebuilt(session) == counted


def test_deleted_data_still_counts_as_no_one(session: Session, serve: Callable[..., User]) -> None:
    a = serve("A", 1, "hotline:TH:all")
    serve("A", 2, "escalation:urgent", language="bn")
    serve("B", 2, "hotline:TH:all")
    _sex(session, a, 2, "male")
    serve("A", 2, None)
    before = _counted(session)
    privacy.delete_user_data(session, a, "user_request")
    session.flush()
    after = _counted(session)
    assert after == _direct(session)
    # The same people, interactions and cells; only the erased answer is no longer stated.
    for month in MONTHS:
        for name, figures in after[month]["families"].items():
            old = before[month]["families"][name]
            assert {k: v for k, v in figures.items() if k != "by_sex"} == {
                k: v for k, v in old.items() if k != "by_sex"
            }
            assert sum(figures["by_sex"].values()) == sum(old["by_sex"].values())
    assert after["2026-02"]["families"]["find_help"]["by_sex"] == {"not_stated": 2}
    # The person comes back: a new key for the same year, a newcomer again.
    serve("A", 3, "hotline:TH:all")
    assert _counted(session) == _direct(session)
    assert _counted(session)["2026-03"]["families"]["find_help"]["year_to_date"] == 3
    assert _rebuilt(session) == _counted(session)


def test_counters_under_another_mapping_are_rebuilt(
    session: Session, serve: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    serve("A", 1, "hotline:TH:all")
    other = get_settings().model_copy(update={"REPORTING_YEAR_START": "2026-02"})
    monkeypatch.setattr("bot.services.indicator_counts.get_settings", lambda: other)
    serve("B", 2, "hotline:TH:all")  # written under another year start: counters go stale
    assert session.get(IndicatorState, indicator_counts.STATE_ID) is None
    monkeypatch.undo()
    doc = indicators.report(session, "2026-01", "2026-02", get_settings())
    assert doc["progress"]["2026-02"]["find_help"]["achieved"] == 2
    assert _counted(session) == _direct(session)
