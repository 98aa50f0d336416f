"""The O1.1.3 indicator: unique users of the promoted resources, per month and family.

Counts are read from counters kept with each event (`indicator_counts`), never from who
said what, so a report's cost follows the number of months, not the log's size. Suppression,
baselines and progress are pure functions over those counts, so every format (JSON, CSV,
Markdown, the console page) shows the same, already protected, figures.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.services import indicator_counts
from bot.services.indicator_config import Config, Target, families_of, load_config
from bot.services.pseudonyms import reporting_year
from bot.settings import Settings

__all__ = ["Config", "Target", "families_of", "load_config", "report"]
SEXES = ("female", "male", "other", "not_stated")
DIMENSIONS = ("sex", "channel", "language", "country")
UNKNOWN = "unknown"

Cell = int | str  # a count, or the suppression marker ("<5")


# ---- pure parts ---------------------------------------------------------------------------


def parse_month(text: str) -> tuple[int, int]:
    year, _, month = text.partition("-")
    valid = len(year) == 4 and year.isdigit() and int(year) >= 1 and month.isdigit()
    if not (valid and 1 <= int(month) <= 12):
        raise ValueError(f"not a month (YYYY-MM): {text!r}")
    return int(year), int(month)


def months_between(first: str, last: str) -> list[str]:
    """Every YYYY-MM from `first` to `last`, inclusive."""
    year, month = parse_month(first)
    end = parse_month(last)
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def suppress(cells: dict[str, int], k: int) -> dict[str, Cell]:
    """Small-cell suppression for one breakdown of a published total.

    A cell of 1 to k-1 users shows as "<k", the one marker the report uses for a hidden cell.
    The hidden cells' sum is the total minus the shown cells, so while it pins them down for a
    reader who takes each "<k" at its word (one hidden cell, all of them at 0, or all at k-1)
    the smallest shown cell is hidden too, whatever its size: "<k" then reads "suppressed".
    A second marker for hidden large cells ("≥k") would tell a reader which cells are small,
    and with the total give them away in a two-cell row.
    """
    marker = f"<{k}"
    shown: dict[str, Cell] = {name: marker if 0 < n < k else n for name, n in cells.items()}
    while _pinned([cells[name] for name, v in shown.items() if v == marker], k):
        visible = sorted((n, name) for name, n in cells.items() if shown[name] != marker)
        if not visible:
            break
        shown[visible[0][1]] = marker
    return shown


def _pinned(hidden: list[int], k: int) -> bool:
    if len(hidden) <= 1:
        return bool(hidden)
    return sum(hidden) in (0, len(hidden) * (k - 1))


def change_pct(value: float, baseline: float) -> float | None:
    """O1.0: percentage change against the baseline; None while there is no baseline."""
    return round((value - baseline) / baseline * 100, 1) if baseline else None


def reporting_year_of(month: str, start: str) -> int:
    year, number = parse_month(month)
    return reporting_year(date(year, number, 1), start)


def programme_year(month: str, start: str) -> int:
    """1 for the reporting year that begins at `start` (Y1), 2 for the next, ..."""
    return reporting_year_of(month, start) - reporting_year_of(start, start) + 1


def baseline_months(setting: str, start: str) -> list[str]:
    first, _, last = (setting or start).partition("..")
    months = months_between(first, last or first)
    if not months:
        raise ValueError(f"INDICATOR_BASELINE {setting} ends before it starts")
    return months


# ---- figures from the counters -----------------------------------------------------------

Figures = dict[str, Any]  # one month's counts before suppression


def _figures(session: Session, months: list[str], config: Config, start: str) -> dict[str, Figures]:
    """Each month's counts, read from the counters (one query for every month asked).

    A family's year-to-date users are the users first seen in it that reporting year, summed
    from the year's first month: the year's earlier months are read too.
    """
    first = min(indicator_counts.year_of(m, start) for m in months)
    rows = indicator_counts.read(session, first, max(months))
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    cells: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    new: dict[tuple[str, str], int] = {}
    for month, family, dimension, value, users, interactions in rows:
        if dimension == "":
            totals[month, family] = (users, interactions)
        elif dimension == "new":
            new[month, family] = users
        elif users:
            cells[month, family, dimension][value or UNKNOWN] = users
    figures = {}
    for month in months:
        year = indicator_counts.year_of(month, start)
        families = {}
        for name in config.families:
            users, interactions = totals.get((month, name), (0, 0))
            families[name] = {
                "unique_users": users,
                "interactions": interactions,
                **{f"by_{d}": cells.get((month, name, d), {}) for d in DIMENSIONS},
                "year_to_date": sum(
                    n for (m, f), n in new.items() if f == name and year <= m <= month
                ),
            }
        anyone = totals.get((month, indicator_counts.ANY), (0, 0))[0]
        figures[month] = {"families": families, "anyone": anyone}
    return figures


# ---- the report ---------------------------------------------------------------------------


def report(
    session: Session,
    first: str,
    last: str,
    settings: Settings,
    config: Config | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The indicator for months `first`..`last`: the JSON document every format renders.

    Exact at any time, open months included; `now` is kept for callers that pin the clock.
    Counters built for another family mapping or year start are rebuilt first (once).
    """
    config = config or load_config(settings.INDICATORS_FILE)
    months = months_between(first, last)
    if not months:
        raise ValueError(f"--from {first} is after --to {last}")
    k, start = settings.INDICATOR_MIN_CELL, settings.REPORTING_YEAR_START
    base_months = baseline_months(settings.INDICATOR_BASELINE, start)
    indicator_counts.current(session, config, start)
    figures = _figures(session, sorted({*months, *base_months}), config, start)
    base = [figures[m]["families"] for m in base_months]
    baseline = {
        name: round(sum(f[name]["unique_users"] for f in base) / len(base_months), 1)
        for name in config.families
    }
    families: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in months}
    progress: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in months}
    for month in months:
        for name, raw in figures[month]["families"].items():
            cells = {d: raw[f"by_{d}"] for d in DIMENSIONS}
            cells["sex"] = {sex: cells["sex"].get(sex, 0) for sex in SEXES}
            families[month][name] = {
                "unique_users": raw["unique_users"],
                "interactions": raw["interactions"],
                **{f"by_{d}": suppress(dict(sorted(cells[d].items())), k) for d in DIMENSIONS},
            }
            progress[month][name] = _progress(
                config.targets.get(name),
                month,
                start,
                raw["unique_users"],
                raw["year_to_date"],
                baseline[name],
            )
    return {
        "from": months[0],
        "to": months[-1],
        "k": k,
        "baseline": {"months": [base_months[0], base_months[-1]], "unique_users": baseline},
        "months": [
            {"month": m, "families": families[m], "total_unique_users": figures[m]["anyone"]}
            for m in months
        ],
        "progress": progress,
    }


def _progress(
    target: Target | None, month: str, start: str, users: int, year_to_date: int, base: float
) -> dict[str, Any]:
    entry: dict[str, Any] = {"change_pct": change_pct(users, base)}
    year = programme_year(month, start)
    if target is None or not 1 <= year <= len(target.years):
        return entry
    value = target.years[year - 1]
    achieved = year_to_date if target.per == "year" else users
    return entry | {
        "programme_year": f"Y{year}",
        "per": target.per,
        "target": value,
        "achieved": achieved,
        "progress_pct": round(achieved / value * 100, 1) if value else None,
    }


# ---- renderings ---------------------------------------------------------------------------


def to_csv(doc: dict[str, Any]) -> str:
    """One row per figure: month, family, dimension, value, unique users, interactions, ..."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["month", "family", "dimension", "value", "unique_users", "interactions",
         "target", "achieved", "progress_pct", "change_pct"]
    )  # fmt: skip
    for entry in doc["months"]:
        month = entry["month"]
        writer.writerow([month, "all", "total", "", entry["total_unique_users"], *[""] * 5])
        for name, figures in entry["families"].items():
            p = doc["progress"][month][name]
            writer.writerow(
                [month, name, "total", "", figures["unique_users"], figures["interactions"],
                 p.get("target", ""), p.get("achieved", ""), _blank(p.get("progress_pct")),
                 _blank(p["change_pct"])]
            )  # fmt: skip
            for dimension in DIMENSIONS:
                for value, users in figures[f"by_{dimension}"].items():
                    writer.writerow([month, name, dimension, value, users, *[""] * 5])
    return out.getvalue()


def to_markdown(doc: dict[str, Any]) -> str:
    lines = [
        f"# O1.1.3 resource use, {doc['from']} to {doc['to']}",
        "",
        f"Unique users (pseudonymous keys). <{doc['k']} marks a hidden cell: under {doc['k']}"
        f" users, or hidden with it so that it cannot be worked out from the total. Baseline"
        f" {doc['baseline']['months'][0]}..{doc['baseline']['months'][1]}.",
    ]
    for entry in doc["months"]:
        month = entry["month"]
        lines += [
            "",
            f"## {month}: {entry['total_unique_users']} unique users",
            "",
            "| family | users | interactions | target | progress | change vs baseline "
            "| female | male | other | not stated | channel | language | country |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, f in entry["families"].items():
            p = doc["progress"][month][name]
            target = f"{p['target']} / {p['per']} ({p['programme_year']})" if "target" in p else ""
            progress = f"{p['achieved']} ({p['progress_pct']}%)" if "target" in p else ""
            change = "" if p["change_pct"] is None else f"{p['change_pct']:+}%"
            sexes = [str(f["by_sex"][s]) for s in SEXES]
            spread = [_pairs(f[f"by_{d}"]) for d in ("channel", "language", "country")]
            row = [name, str(f["unique_users"]), str(f["interactions"]), target, progress, change]
            lines.append("| " + " | ".join([*row, *sexes, *spread]) + " |")
    return "\n".join(lines) + "\n"


def _pairs(cells: dict[str, Cell]) -> str:
    return ", ".join(f"{name} {n}" for name, n in cells.items()) or "—"


def _blank(value: object) -> object:
    return "" if value is None else value
