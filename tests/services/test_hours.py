"""Staffed hours: the HOTLINE_HOURS format, read through the real settings class."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.settings import Settings

HOURS = (
    "en=Mon-Fri 09:00-17:00 Asia/Bangkok; my=Mon-Sat 08:00-20:00, Sun 09:00-12:00 Asia/Yangon;"
    " *=Fri-Mon 22:00-06:00 UTC"
)


def _hours(value: str = HOURS):  # type: ignore[no-untyped-def]
    return Settings(HOTLINE_HOURS=value).HOTLINE_HOURS


def test_parsed_per_language_in_its_own_zone() -> None:
    en = _hours()["en"]
    # Monday 2026-11-30 01:59 UTC is 08:59 in Bangkok: closed; a minute later open.
    assert not en.is_open(datetime(2026, 11, 30, 1, 59, tzinfo=UTC))
    assert en.is_open(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    assert not en.is_open(datetime(2026, 11, 30, 10, 0, tzinfo=UTC)), "17:00 in Bangkok"
    assert not en.is_open(datetime(2026, 11, 29, 5, 0, tzinfo=UTC)), "a Sunday"
    my = _hours()["my"]
    assert my.is_open(datetime(2026, 11, 29, 3, 0, tzinfo=UTC)), "Sunday 09:30 in Yangon"
    assert my.utc_offset(datetime(2026, 11, 29, tzinfo=UTC)) == "UTC+6:30"


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    night = _hours()["*"]
    assert night.is_open(datetime(2026, 12, 4, 23, 0, tzinfo=UTC)), "Friday night"
    assert night.is_open(datetime(2026, 12, 5, 5, 0, tzinfo=UTC)), "Saturday small hours"
    assert night.is_open(datetime(2026, 12, 8, 5, 0, tzinfo=UTC)), "Tuesday after Monday night"
    assert not night.is_open(datetime(2026, 12, 9, 5, 0, tzinfo=UTC)), "Wednesday"


def test_next_opening_skips_the_weekend() -> None:
    en = _hours()["en"]
    friday_evening = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # 19:00 in Bangkok
    opening = en.next_opening(friday_evening)
    assert (opening.strftime("%a %H:%M"), en.utc_offset(opening)) == ("Mon 09:00", "UTC+7")


def test_empty_means_always_staffed() -> None:
    assert _hours("") == {}
    assert Settings().HOTLINE_HOURS == {}


@pytest.mark.parametrize(
    "bad",
    [
        "en=Mon-Fri 9-17 Asia/Bangkok",
        "en=Mon-Fri 09:00-17:00 Mars/Olympus",
        "en=Someday 09:00-17:00 UTC",
        "en=Mon-Fri 09:00-25:00 UTC",
        "Mon-Fri 09:00-17:00 UTC",
        "en=UTC",
    ],
)
def test_a_mistake_stops_the_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="HOTLINE_HOURS"):
        _hours(bad)


def test_described_with_the_readers_day_names() -> None:
    names = ("M", "T", "W", "Th", "F", "Sa", "Su")
    at = datetime(2026, 11, 29, tzinfo=UTC)
    described = _hours()["my"].describe(at, names.__getitem__, "every day")
    assert described == "M–Sa 08:00–20:00, Su 09:00–12:00 (UTC+6:30)"
    daily = _hours("*=daily 00:00-24:00 UTC")["*"]
    assert daily.describe(at, names.__getitem__, "every day") == "every day 00:00–24:00 (UTC+0)"
