"""The O1.1.3 indicator: unique users of the promoted resources, per month and family.

Counts come from the monthly roll-up (`analytics_monthly`), never from who said what; a
closed month is counted once and kept (`indicator_months`), so a report's cost follows the
current month's traffic, not the log's age. Suppression, baselines and progress are pure
functions over those counts, so every format (JSON, CSV, Markdown, the console page) shows
the same, already protected, figures.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Select, Subquery, func, literal, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from bot.clock import utcnow
from bot.db.models import AnalyticsMonthly, Demographic, IndicatorMonth
from bot.services.pseudonyms import reporting_year
from bot.settings import ROOT, Settings

DEFAULT_CONFIG = ROOT / "data" / "indicators.yml"
SEXES = ("female", "male", "other", "not_stated")
DIMENSIONS = ("sex", "channel", "language", "country")
UNKNOWN = "unknown"

Cell = int | str  # a count, or the suppression marker ("<5")


@dataclass(frozen=True)
class Target:
    per: str  # "month" or "year"
    years: tuple[int, ...]  # Y1, Y2, ...


@dataclass(frozen=True)
class Config:
    families: dict[str, tuple[str, ...]]
    targets: dict[str, Target]


def load_config(path: str | Path = "") -> Config:
    data = yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text(encoding="utf-8"))
    targets = {
        name: Target(spec["per"], tuple(int(v) for v in spec["years"]))
        for name, spec in (data.get("targets") or {}).items()
    }
    if any(t.per not in ("month", "year") for t in targets.values()):
        raise ValueError("a target's `per` must be month or year")
    families = {name: tuple(patterns) for name, patterns in data["families"].items()}
    return Config(families, targets)


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


# ---- queries over the roll-up -------------------------------------------------------------


def families_of(resource: str, config: Config) -> list[str]:
    """The families a resource counts in (`*` in a pattern matches any text)."""
    return [
        name
        for name, patterns in config.families.items()
        if any(fnmatchcase(resource, p) for p in patterns)
    ]


_COLUMNS: dict[str, Any] = {
    "sex": func.coalesce(Demographic.sex, "not_stated"),
    "channel": AnalyticsMonthly.channel,
    "language": AnalyticsMonthly.language,
    "country": AnalyticsMonthly.country,
}
Figures = dict[str, Any]  # one month's counts before suppression (JSON, cached when closed)


def _family_table(resources: list[str], config: Config, name: str) -> Subquery:
    """(resource, family) rows for the resources given, so queries join on equality."""
    pairs = [(r, f) for r in resources for f in families_of(r, config)] or [("", "")]
    return union_all(
        *(select(literal(r).label("resource"), literal(f).label("family")) for r, f in pairs)
    ).subquery(name)


class _Month:
    """One month's counts; each query is one pass over that month's roll-up for every family."""

    def __init__(self, session: Session, month: str, config: Config) -> None:
        self.session, self.month, self.config = session, month, config
        self.resources = sorted(
            session.scalars(
                select(AnalyticsMonthly.resource).where(AnalyticsMonthly.month == month).distinct()
            )
        )
        self.families = _family_table(self.resources, config, "families")

    def _select(self, *columns: Any) -> Select[Any]:
        families = self.families
        return (
            select(*columns)
            .select_from(AnalyticsMonthly)
            .join(families, AnalyticsMonthly.resource == families.c.resource)
            .where(AnalyticsMonthly.month == self.month)
        )

    def totals(self) -> dict[str, tuple[int, int]]:
        """family -> (unique users, interactions)."""
        family = self.families.c.family
        rows = self.session.execute(
            self._select(
                family,
                func.count(AnalyticsMonthly.user_key.distinct()),
                func.sum(AnalyticsMonthly.interactions),
            ).group_by(family)
        )
        return {f: (users, int(n)) for f, users, n in rows}

    def anyone(self) -> int:
        """Unique users of any family."""
        query = self._select(func.count(AnalyticsMonthly.user_key.distinct()))
        return self.session.scalar(query) or 0

    def breakdown(self, dimension: str) -> dict[str, dict[str, int]]:
        """family -> {dimension value: unique users}."""
        family, column = self.families.c.family, _COLUMNS[dimension]
        query = self._select(family, column, func.count(AnalyticsMonthly.user_key.distinct()))
        if dimension == "sex":
            query = query.outerjoin(Demographic, Demographic.user_key == AnalyticsMonthly.user_key)
        result: dict[str, dict[str, int]] = defaultdict(dict)
        for f, value, users in self.session.execute(query.group_by(family, column)):
            result[f][value or UNKNOWN] = users
        return result

    def newcomers(self, families: list[str], year_start: str, earlier: list[str]) -> dict[str, int]:
        """family -> users this month not seen in it earlier in the reporting year.

        `earlier` lists the resources served earlier in the year (kept with each month's
        figures), so the look-back joins on equality and probes each user by key.
        """
        family = self.families.c.family
        earlier_rows = aliased(AnalyticsMonthly)
        earlier_families = _family_table(earlier, self.config, "earlier_families")
        seen = (
            select(literal(1))
            .select_from(earlier_rows)
            .join(earlier_families, earlier_rows.resource == earlier_families.c.resource)
            .where(
                earlier_rows.user_key == AnalyticsMonthly.user_key,
                earlier_rows.month >= year_start,
                earlier_rows.month < self.month,
                earlier_families.c.family == family,
            )
            .exists()
        )
        query = self._select(family, func.count(AnalyticsMonthly.user_key.distinct())).where(
            family.in_(families), ~seen
        )
        return {f: users for f, users in self.session.execute(query.group_by(family))}


def _config_key(config: Config, start: str) -> str:
    """What cached figures depend on: the families, which are counted yearly, the year start."""
    yearly = sorted(n for n, t in config.targets.items() if t.per == "year")
    text = json.dumps([sorted(config.families.items()), yearly, start])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _previous(month: str) -> str:
    year, number = parse_month(month)
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def _figures(
    session: Session,
    month: str,
    config: Config,
    start: str,
    current: str,
    memo: dict[str, Figures],
) -> Figures:
    """A month's counts: read back if the month is closed and was counted before.

    `memo` holds the months this report has counted already, so an open month (the current
    one, or one ahead of it) is counted once per report, not again for each later month.
    """
    if month in memo:
        return memo[month]
    key = _config_key(config, start)
    closed = month < current
    if closed and (row := session.get(IndicatorMonth, (month, key))) is not None:
        memo[month] = row.figures
        return row.figures
    counts = _Month(session, month, config)
    totals = counts.totals()
    breakdowns = {d: counts.breakdown(d) for d in DIMENSIONS}
    yearly = [n for n, t in config.targets.items() if t.per == "year" and n in config.families]
    year_start = f"{reporting_year_of(month, start):04d}-{start[5:7]}"
    before = (
        None
        if month == year_start
        else _figures(session, _previous(month), config, start, current, memo)
    )
    earlier = before["year_resources"] if before else []
    new = counts.newcomers(yearly, year_start, earlier) if yearly else {}
    families = {}
    for name in config.families:
        users, interactions = totals.get(name, (0, 0))
        families[name] = {
            "unique_users": users,
            "interactions": interactions,
            **{f"by_{d}": breakdowns[d].get(name, {}) for d in DIMENSIONS},
            "year_to_date": (before["families"][name]["year_to_date"] if before else 0)
            + new.get(name, 0),
        }
    figures = {
        "families": families,
        "anyone": counts.anyone(),
        "year_resources": sorted({*earlier, *counts.resources}),
    }
    if closed:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(IndicatorMonth)
            .values(month=month, config=key, figures=figures, computed_at=utcnow())
            .on_conflict_do_nothing(index_elements=["month", "config"])
        )
    memo[month] = figures
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

    Months closed (by an hour's margin for turns still being written) are counted once and
    kept; only the current month is counted afresh from the roll-up each time.
    """
    config = config or load_config(settings.INDICATORS_FILE)
    months = months_between(first, last)
    if not months:
        raise ValueError(f"--from {first} is after --to {last}")
    k, start = settings.INDICATOR_MIN_CELL, settings.REPORTING_YEAR_START
    current = ((now or utcnow()) - timedelta(hours=1)).strftime("%Y-%m")
    if session.get_bind().dialect.name == "postgresql":  # distinct counts sort in memory
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    memo: dict[str, Figures] = {}
    figures = {m: _figures(session, m, config, start, current, memo) for m in months}
    base_months = baseline_months(settings.INDICATOR_BASELINE, start)
    base = [_figures(session, m, config, start, current, memo)["families"] for m in base_months]
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
