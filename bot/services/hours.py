"""When the hotline team is at work: staffed hours per language, parsed from one setting.

Staffed hours are set per language in one setting, read once at start-up:

    HOTLINE_HOURS="en=Mon-Fri 09:00-17:00 Asia/Bangkok;
                   my=Mon-Sat 08:00-20:00, Sun 09:00-12:00 Asia/Yangon"  (one line)

Each entry is `language=` then comma-separated windows (`Days HH:MM-HH:MM`, days a single
day, a range `Mon-Fri` or `daily`; an end at or before the start runs past midnight) and
last an IANA time zone. `*=` covers languages not listed. A language without hours (and no
`*`) is treated as always staffed: the bot then names no hours rather than wrong ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PlainValidator
from pydantic_settings import NoDecode

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANY_LANGUAGE = "*"
_WINDOW = re.compile(
    r"^(?P<days>daily|[a-z]{3}(?:-[a-z]{3})?)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class Window:
    days: tuple[int, ...]  # weekday numbers the window starts on (Monday 0)
    start: time
    end: time  # at or before `start`: the window ends the next day

    def covers(self, local: datetime) -> bool:
        now, day = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= now < self.end
        return (day in self.days and now >= self.start) or (
            (day - 1) % 7 in self.days and now < self.end
        )


@dataclass(frozen=True)
class Schedule:
    windows: tuple[Window, ...]
    zone: ZoneInfo

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        return any(w.covers(local) for w in self.windows)

    def next_opening(self, at: datetime) -> datetime:
        """The next start of a window after `at` (local time), within the coming week."""
        local = at.astimezone(self.zone)
        starts = [
            datetime.combine(local.date() + timedelta(days=offset), w.start, self.zone)
            for offset in range(8)
            for w in self.windows
            if (local.weekday() + offset) % 7 in w.days
        ]
        return min(s for s in starts if s > local)

    def describe(self, at: datetime, day: Callable[[int], str], every_day: str) -> str:
        """ "Mon–Fri 09:00–17:00, Sun 09:00–12:00 (UTC+7)" with the reader's day names."""
        parts = []
        for w in self.windows:
            if len(w.days) == 7:
                days = every_day
            elif len(w.days) == 1:
                days = day(w.days[0])
            else:
                days = f"{day(w.days[0])}–{day(w.days[-1])}"
            end = "24:00" if w.end == time(0) else f"{w.end:%H:%M}"
            parts.append(f"{days} {w.start:%H:%M}–{end}")
        return f"{', '.join(parts)} ({self.utc_offset(at)})"

    def utc_offset(self, at: datetime) -> str:
        """ "UTC+7", "UTC+6:30": a zone name everyone can read, whatever their script."""
        offset = at.astimezone(self.zone).utcoffset() or timedelta()
        minutes = int(offset.total_seconds() // 60)
        sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
        hours, rest = divmod(minutes, 60)
        return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def parse_hours(value: object) -> dict[str, Schedule]:
    """The HOTLINE_HOURS setting as a schedule per language; a mistake stops the start."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValueError("HOTLINE_HOURS must be a string")
    schedules: dict[str, Schedule] = {}
    for entry in filter(None, (part.strip() for part in value.split(";"))):
        language, sep, spec = entry.partition("=")
        if not sep or not language.strip():
            raise ValueError(f"HOTLINE_HOURS entry {entry!r} needs the form lang=hours zone")
        schedules[language.strip()] = _schedule(spec.strip())
    return schedules


def _schedule(spec: str) -> Schedule:
    body, _, zone_name = spec.rpartition(" ")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"HOTLINE_HOURS: unknown time zone {zone_name!r}") from exc
    windows = tuple(_window(part.strip().lower()) for part in body.split(",") if part.strip())
    if not windows:
        raise ValueError(f"HOTLINE_HOURS: no hours before the time zone in {spec!r}")
    return Schedule(windows, zone)


def _window(text: str) -> Window:
    match = _WINDOW.match(" ".join(text.split()))
    if not match:
        raise ValueError(f"HOTLINE_HOURS: {text!r} is not like 'Mon-Fri 09:00-17:00'")
    days = match["days"]
    if days == "daily":
        numbers = tuple(range(7))
    else:
        first, _, last = days.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"HOTLINE_HOURS: unknown day in {text!r}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        numbers = tuple((a + i) % 7 for i in range((b - a) % 7 + 1))
    return Window(numbers, _time(match["start"]), _time(match["end"]))


def _time(text: str) -> time:
    hours, minutes = map(int, text.split(":"))
    if (hours, minutes) == (24, 0):
        return time(0, 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"HOTLINE_HOURS: {text} is not a time of day")
    return time(hours, minutes)


# The settings field type: the raw string is parsed here, not JSON-decoded by pydantic-settings.
HotlineHours = Annotated[dict[str, Schedule], NoDecode, PlainValidator(parse_hours)]
