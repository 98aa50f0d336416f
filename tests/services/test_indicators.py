"""The indicator's pure parts (suppression, months, baseline, targets) and yearly progress."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import User
from bot.services import analytics, indicators
from bot.services.indicators import change_pct, months_between, programme_year, suppress
from bot.settings import get_settings


@pytest.mark.parametrize(
    ("cells", "shown"),
    [
        ({"a": 12, "b": 7}, {"a": 12, "b": 7}),
        # One small cell would follow from the total: the smallest other one goes too.
        ({"f": 3, "m": 0, "o": 9}, {"f": "<5", "m": "<5", "o": 9}),
        # Two cells: both go, and one marker for both, so the total tells nothing.
        ({"messenger": 12, "viber": 2}, {"messenger": "<5", "viber": "<5"}),
        # Two small cells are safe, unless their sum pins both at k-1.
        ({"a": 1, "b": 2, "c": 9}, {"a": "<5", "b": "<5", "c": 9}),
        ({"a": 4, "b": 4, "c": 9, "d": 20}, {"a": "<5", "b": "<5", "c": "<5", "d": 20}),
        ({"only": 3}, {"only": "<5"}),
        # A hidden large cell looks like any other hidden cell: a=1 and b=5 cannot be told.
        ({"a": 1, "b": 5, "c": 20}, {"a": "<5", "b": "<5", "c": 20}),
        ({"a": 0, "b": 0}, {"a": 0, "b": 0}),
    ],
)
def test_suppress(cells: dict[str, int], shown: dict[str, int | str]) -> None:
    assert suppress(cells, 5) == shown


def test_suppress_uses_k() -> None:
    assert suppress({"a": 9, "b": 10, "c": 30}, 10) == {"a": "<10", "b": "<10", "c": 30}


def test_months_and_programme_years() -> None:
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert months_between("2026-03", "2026-02") == []
    with pytest.raises(ValueError, match="YYYY-MM"):
        months_between("2026-13", "2027-01")
    assert [programme_year(m, "2026-04") for m in ("2026-04", "2027-03", "2027-04")] == [1, 1, 2]


def test_change_against_baseline() -> None:
    assert (change_pct(150, 100), change_pct(50, 200), change_pct(3, 0)) == (50.0, -75.0, None)


def test_shipped_config_maps_every_family() -> None:
    config = indicators.load_config()
    assert set(config.families) == {"find_help", "learn", "licence_check", "talk_to_person"}
    assert config.targets["find_help"] == indicators.Target("year", (500, 1500, 3600))
    assert config.targets["learn"] == indicators.Target("month", (300, 1000, 3000))
    assert indicators.families_of("escalation:urgent", config) == ["find_help", "talk_to_person"]
    assert indicators.families_of("hotline:TH:all", config) == ["find_help"]
    assert indicators.families_of("escalation:misunderstood", config) == []


def _served(session: Session, monkeypatch: pytest.MonkeyPatch, address: str, month: int) -> None:
    user = session.scalars(select(User).where(User.address == address)).one_or_none()
    if user is None:
        user = User(channel="viber", address=address, language="km")
        session.add(user)
        session.flush()
    monkeypatch.setattr(
        "bot.services.analytics.utcnow", lambda: datetime(2026, month, 3, tzinfo=UTC)
    )
    analytics.record(session, user, intent=None, flow="h", step="f", resource="hotline:TH:all")
    session.flush()


def test_yearly_target_counts_each_person_once_a_year(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for address, month in (("A", 1), ("A", 2), ("B", 2), ("C", 3)):
        _served(session, monkeypatch, address, month)
    settings = get_settings().model_copy(update={"INDICATOR_BASELINE": "2026-01..2026-02"})
    doc = indicators.report(session, "2026-02", "2026-03", settings)
    progress = {m: p["find_help"] for m, p in doc["progress"].items()}
    assert [progress[m]["achieved"] for m in ("2026-02", "2026-03")] == [2, 3]
    assert progress["2026-03"]["progress_pct"] == 0.6  # 3 of Y1's 500
    assert doc["baseline"]["unique_users"]["find_help"] == 1.5
    assert [progress[m]["change_pct"] for m in ("2026-02", "2026-03")] == [33.3, -33.3]
    assert [m["families"]["find_help"]["unique_users"] for m in doc["months"]] == [2, 1]
    assert doc["progress"]["2026-02"]["learn"]["achieved"] == 0


def test_reversed_baseline_is_a_clear_error(session: Session) -> None:
    settings = get_settings().model_copy(update={"INDICATOR_BASELINE": "2026-05..2026-01"})
    with pytest.raises(ValueError, match="INDICATOR_BASELINE"):
        indicators.report(session, "2026-01", "2026-02", settings)


def test_year_zero_is_not_a_month() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        months_between("0000-01", "0000-02")
