"""The services a flow step can call by name: the only place flows meet topics.

An action reads slots, calls a service, and returns an outcome name (the flow branches on
it), values for the messages, and any choices or call buttons built from data. Each action
declares its outcomes, the locale keys it renders itself and the steps its payloads lead to,
so `safestep flows check` can verify flows against it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.orm import Session

from bot.channels.text import truncate
from bot.clock import utcnow
from bot.db.models import AnalyticsEvent, Demographic, Hotline, User
from bot.dialogue.flows import payload_of
from bot.dialogue.i18n import FALLBACK, Translator
from bot.messages import Button, Choice
from bot.services import hotlines, privacy, registries
from bot.services.handover import Team, expected_wait
from bot.services.hours import DAYS
from bot.services.pseudonyms import current_key, earlier_years_live, live_keys
from bot.vocabulary import Indicator

# Where a person writing this language most likely got their licence list from.
LANGUAGE_ORIGIN = {"my": "MM", "km": "KH", "bn": "BD"}
TITLE_LIMIT = 20
MAX_CALL_BUTTONS = 3
# Where in-person advice is listed, and how many places one answer names.
ADVICE_ORIGINS = ("MM", "KH", "BD")
MAX_PLACES = 3
# Organization names are cut in urgent replies so every line fits one button template.
ORGANIZATION_LIMIT = 60
# Completed interactions before the optional (and only) demographic question.
DEMOGRAPHICS_AFTER = 3
SEXES = ("female", "male", "other", "not_stated")
# Languages a hotline may answer in that the locales can name.
SPOKEN = ("th", "en", "my", "km", "bn", "ms", "tl", "ar", "zh", "ja", "ko", "id", "vi")


@dataclass
class ActionContext:
    session: Session
    user: User
    slots: dict[str, Any]
    language: str
    now: datetime
    t: Translator
    team: Team = field(default_factory=Team)
    text: str = ""  # this turn's normalized text, for actions that read it (never stored)

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass
class Outcome:
    name: str
    values: dict[str, str] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    run: Callable[[ActionContext], Outcome]
    outcomes: tuple[str, ...]
    keys: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()


def _missing(value: object) -> str:
    return str(value) if value not in (None, "") else "—"


def agency_lookup(ctx: ActionContext) -> Outcome:
    query = str(ctx.slots.get("licence_number") or ctx.slots.get("query") or "")
    scope = ctx.slots.get("agency_country")
    lists = registries.countries_with_lists(ctx.session)
    if not scope:
        scope = ctx.user.country if ctx.user.country in lists else None
        scope = scope or LANGUAGE_ORIGIN.get(ctx.language)
    return _agency_outcome(ctx, registries.lookup(ctx.session, query, scope), query, scope)


def agency_pick(ctx: ActionContext) -> Outcome:
    try:
        agency_id = int(ctx.slots.get("agency", ""))
    except ValueError:
        return _agency_outcome(ctx, registries.Lookup(), "", None)
    return _agency_outcome(ctx, registries.by_id(ctx.session, agency_id), "", None)


def _agency_outcome(
    ctx: ActionContext, found: registries.Lookup, query: str, scope: str | None
) -> Outcome:
    snap = found.snapshot or registries.snapshot(ctx.session, scope)
    values = {
        "query": query,
        "source": snap.source if snap else "—",
        "retrieved": snap.retrieved.isoformat() if snap else "—",
        "is_sample": "yes" if snap and snap.is_sample else "",
        "agency_country": (snap.country if snap else scope) or "XX",
    }
    if found.agency is not None:
        agency = found.agency
        status = registries.effective_status(agency, ctx.today)
        values.update(
            name=agency.name,
            licence=agency.licence_number,
            authority=agency.authority,
            valid_until=_missing(agency.valid_until and agency.valid_until.isoformat()),
            address=_missing(agency.address),
            phone=_missing(agency.phone),
            licence_result="found" if status == "active" else status,
        )
        return Outcome(status, values)
    if found.candidates:
        # Titles are cut at 20 graphemes, so the message lists the full names.
        values["candidates"] = "\n".join(
            f"{i}. {a.name} — {a.licence_number} ({a.country})"
            for i, a in enumerate(found.candidates, 1)
        )
        choices = [
            Choice(
                truncate(f"{i}. {a.name}", TITLE_LIMIT),
                payload_of("agency.pick", {"agency": str(a.id)}),
            )
            for i, a in enumerate(found.candidates, 1)
        ]
        return Outcome("did_you_mean", values, choices=choices)
    values["licence_result"] = "not_found"
    return Outcome("not_found", values)


def _hotline_lines(ctx: ActionContext, rows: list[Hotline]) -> Outcome:
    t, lang = ctx.t, ctx.language
    lines = []
    for row in rows:
        spoken = ", ".join(
            t(f"spoken.{code}", lang) if t.has(f"spoken.{code}", FALLBACK) else code
            for code in row.languages
        )
        checked = (
            t("hotline.verified", lang, date=row.verified.isoformat())
            if row.verified
            else t("hotline.unverified", lang)
        )
        lines.append(
            t(
                "hotline.line",
                lang,
                number=row.number,
                organization=row.organization,
                purpose=t(f"purpose.{row.purpose}", lang),
                hours=row.hours or t("hotline.hours_unknown", lang),
                languages=spoken or "—",
                checked=checked,
            )
        )
    values = {"lines": "\n\n".join(lines), "country_name": _country_name(ctx)}
    return Outcome("found", values, buttons=_call_buttons(rows))


def _call_buttons(rows: list[Hotline]) -> list[Button]:
    """One call button per number, for the first MAX_CALL_BUTTONS rows."""
    return [
        Button(
            truncate(f"📞 {row.number}", TITLE_LIMIT),
            "call",
            hotlines.dial_value(row.number, row.country),
        )
        for row in rows[:MAX_CALL_BUTTONS]
    ]


def _country_name(ctx: ActionContext, code: str | None = None) -> str:
    """The country in the user's language; a country the locales do not name shows its code."""
    code = code if code is not None else str(ctx.slots.get("country") or "")
    key = f"country.{code}"
    return ctx.t(key, ctx.language) if ctx.t.has(key, FALLBACK) else code or "—"


def hotline_lookup(ctx: ActionContext) -> Outcome:
    country = str(ctx.slots.get("country") or "")
    purpose = str(ctx.slots.get("purpose") or "all")
    wanted = hotlines.PURPOSES if purpose not in hotlines.PURPOSES else (purpose,)
    origin = _origin(ctx)
    rows = hotlines.find(ctx.session, country, wanted, origin=origin)
    if rows:
        return _hotline_lines(ctx, rows)
    rows = hotlines.find(ctx.session, country, origin=origin)
    if rows:
        outcome = _hotline_lines(ctx, rows)
        outcome.name = "others"
        return outcome
    return Outcome("none", {"country_name": _country_name(ctx)})


def _origin(ctx: ActionContext) -> str | None:
    """Where the person comes from: as they said it, else guessed from the language they read."""
    stated = str(ctx.slots.get("origin") or "")
    return stated if len(stated) == 2 else LANGUAGE_ORIGIN.get(ctx.language)


def _urgent_rows(ctx: ActionContext, country: str) -> list[Hotline]:
    """Who to call, in order: the police, the worker line they can speak to, their embassy,
    their home country's line from abroad. Each at most once; none that users may not see."""
    session, origin = ctx.session, _origin(ctx)
    picked = hotlines.find(session, country, ("emergency",))[:1]
    worker = hotlines.find(session, country, (*hotlines.WORKER_PURPOSES, "migrant_support"))
    best = hotlines.best_for(worker, ctx.language)
    picked += [best] if best else []
    if origin and origin != country:
        picked += hotlines.find(session, country, ("embassy",), origin=origin)[:1]
        picked += hotlines.find(session, origin, ("from_abroad",))[:1]
    # At home, or origin unknown: the other urgent lines fill the call buttons.
    others = [
        h for h in hotlines.find(session, country, hotlines.URGENT_PURPOSES) if h not in picked
    ]
    return picked + others[: max(0, MAX_CALL_BUTTONS - len(picked))]


def _urgent_outcome(ctx: ActionContext, rows: list[Hotline]) -> Outcome:
    """Short lines that fit one Messenger button template (≤ 640 characters, 3 buttons)."""
    t, lang = ctx.t, ctx.language
    lines = [
        t(
            "directory.urgent_line",
            lang,
            number=row.number,
            label=t(f"directory.label.{row.purpose}", lang),
            organization=truncate(row.organization, ORGANIZATION_LIMIT),
        )
        for row in rows
    ]
    if any(row.verified is None for row in rows):
        lines.append(t("directory.unconfirmed", lang))
    values = {"lines": "\n".join(lines), "country_name": _country_name(ctx)}
    return Outcome("found", values, buttons=_call_buttons(rows))


def urgent_numbers(ctx: ActionContext) -> Outcome:
    """Never "no number" for a known country: police, worker line, embassy, home line."""
    country = str(ctx.slots.get("country") or "")
    rows = _urgent_rows(ctx, country) if country else []
    rows = rows or hotlines.find(ctx.session, country)[:MAX_CALL_BUTTONS]
    if not rows:
        return home_numbers(ctx)
    return _urgent_outcome(ctx, rows)


def home_numbers(ctx: ActionContext) -> Outcome:
    """Country unknown: the home country's line that answers calls from abroad."""
    origin = _origin(ctx)
    rows = hotlines.find(ctx.session, origin, ("from_abroad",))[:1] if origin else []
    if not rows:
        return Outcome("none", {"country_name": _country_name(ctx)})
    return _urgent_outcome(ctx, rows)


def advice_lookup(ctx: ActionContext) -> Outcome:
    """In-person advice before leaving, nearest to the district or township the person named."""
    origin = _origin(ctx)
    origins = tuple(dict.fromkeys([*([origin] if origin else []), *ADVICE_ORIGINS]))
    rows = hotlines.near(ctx.session, str(ctx.slots.get("place") or ""), origins)
    if rows:
        lines = [
            ctx.t("advice.line", ctx.language, organization=row.organization,
                  place=hotlines.areas(row)[0], source=row.source)
            for row in rows[:MAX_PLACES]
        ]  # fmt: skip
        return Outcome("found", {"lines": "\n\n".join(lines), "origin": rows[0].country})
    known = hotlines.find_in(ctx.session, origins[:1] or ADVICE_ORIGINS, (hotlines.IN_PERSON,))
    places = ", ".join(dict.fromkeys(hotlines.areas(row)[0] for row in known)) or "—"
    return Outcome("none", {"places": places, "origin": origin or "unknown"})


def child_numbers(ctx: ActionContext) -> Outcome:
    """For someone under 18: the child helpline first, then the urgent numbers."""
    country = str(ctx.slots.get("country") or "")
    child = hotlines.find(ctx.session, country, ("child",))[:1] if country else []
    urgent = [h for h in (_urgent_rows(ctx, country) if country else []) if h not in child]
    rows = (child + urgent)[:MAX_CALL_BUTTONS]
    if not rows:
        return home_numbers(ctx)
    return _urgent_outcome(ctx, rows)


# The safe-migration card that answers each problem; any other indicator gets the rights card.
CONCERN_CARDS = {
    Indicator.DEBT_BONDAGE: "fees",
    Indicator.DECEPTION: "contract",
    Indicator.FORGED_DOCUMENTS: "documents",
}
CONCERN_OUTCOMES = ("rights", "fees", "documents", "contract")


def distress_concern(ctx: ActionContext) -> Outcome:
    """Name the problem the person described (slot `problem`, an indicator) and pick its card."""
    problem = str(ctx.slots.get("problem") or "")
    indicator = Indicator(problem) if problem in set(Indicator) else Indicator.ABUSIVE_CONDITIONS
    values = {"problem": ctx.t(f"distress.problem.{indicator}", ctx.language)}
    return Outcome(CONCERN_CARDS.get(indicator, "rights"), values)


def delete_data(ctx: ActionContext, *, reason: str) -> Outcome:
    privacy.delete_user_data(ctx.session, ctx.user, reason)
    return Outcome("done")


def _key(user: User, session: Session) -> tuple[str, str]:
    return current_key(session, user.channel, user.address, utcnow())


def _carried_over(session: Session, user: User, version: str, key: str) -> bool:
    """Carry an answer from an earlier, still linkable year over to this one (asked once)."""
    if not earlier_years_live(session, version):
        return False
    earlier = session.scalars(
        select(Demographic).where(
            Demographic.user_key.in_(live_keys(session, user.channel, user.address))
        )
    ).first()
    if earlier is None:
        return False
    session.add(Demographic(user_key=key, key_version=version, sex=earlier.sex))
    return True


def demographics_due(ctx: ActionContext) -> Outcome:
    """Asked once, late: after a few served resources, never twice (a row marks "asked")."""
    version, key = _key(ctx.user, ctx.session)
    answered, served = ctx.session.execute(_answer_and_served(), {"key": key}).one()
    if answered is not None or _carried_over(ctx.session, ctx.user, version, key):
        return Outcome("not_due")
    # Reached right after an answer that is logged when the turn ends: it counts too.
    if served + 1 < DEMOGRAPHICS_AFTER:
        return Outcome("not_due")
    ctx.session.add(Demographic(user_key=key, key_version=version, sex="not_stated"))
    return Outcome("due")


@cache
def _answer_and_served() -> Any:
    """Key `:key`'s answer this year (None: not asked yet), and how many resources it was
    served: one statement."""
    key = bindparam("key", type_=String())
    answer = select(Demographic.sex).where(Demographic.user_key == key).scalar_subquery()
    served = (
        select(func.count(AnalyticsEvent.id))
        .where(AnalyticsEvent.user_key == key, AnalyticsEvent.resource.is_not(None))
        .scalar_subquery()
    )
    return select(answer, served)


def save_sex(ctx: ActionContext) -> Outcome:
    sex = str(ctx.slots.get("sex") or "not_stated")
    version, key = _key(ctx.user, ctx.session)
    row = ctx.session.get(Demographic, key) or Demographic(user_key=key, key_version=version)
    row.sex = sex if sex in SEXES else "not_stated"
    ctx.session.add(row)
    return Outcome("done")


def team_status(ctx: ActionContext) -> Outcome:
    """Whether the hotline team is at work now: the expected wait, or when they are back."""
    t, lang = ctx.t, ctx.language
    schedule = ctx.team.schedule(lang)
    values = {"expect": "", "team_hours": "", "next_open": ""}

    def day(number: int) -> str:
        return t(f"handover.day.{DAYS[number]}", lang)

    if schedule is not None:
        values["team_hours"] = schedule.describe(ctx.now, day, t("handover.every_day", lang))
        if not schedule.is_open(ctx.now):
            back = schedule.next_opening(ctx.now)
            offset = schedule.utc_offset(back)
            values["next_open"] = f"{day(back.weekday())} {back:%H:%M} ({offset})"
            return Outcome("closed", values)
    expect = [_wait_text(t, lang, expected_wait(ctx.session, lang, ctx.now))]
    if schedule is not None:
        expect.append(t("handover.hours", lang, team_hours=values["team_hours"]))
    values["expect"] = " ".join(expect)
    return Outcome("open", values)


def _wait_text(t: Translator, language: str, wait: timedelta | None) -> str:
    """ "within about 15 minutes" (rounded up to 5) or "about 2 hours"; vague while unknown."""
    if wait is None:
        return t("handover.wait_unknown", language)
    minutes = wait.total_seconds() / 60
    if minutes <= 55:
        return t("handover.wait_minutes", language, n=max(5, math.ceil(minutes / 5) * 5))
    return t("handover.wait_hours", language, n=math.ceil(minutes / 60))


_HOTLINE_KEYS = (
    "hotline.line", "hotline.verified", "hotline.unverified", "hotline.hours_unknown",
    *(f"purpose.{p}" for p in hotlines.PURPOSES),
    *(f"spoken.{code}" for code in SPOKEN),
)  # fmt: skip

_URGENT_KEYS = (
    "directory.urgent_line", "directory.unconfirmed",
    *(f"directory.label.{p}" for p in hotlines.PURPOSES),
)  # fmt: skip

ACTIONS: dict[str, Action] = {
    "agency_lookup": Action(
        agency_lookup,
        ("active", "suspended", "cancelled", "expired", "did_you_mean", "not_found"),
        targets=("agency.pick",),
    ),
    "agency_pick": Action(
        agency_pick, ("active", "suspended", "cancelled", "expired", "did_you_mean", "not_found")
    ),
    "hotline_lookup": Action(hotline_lookup, ("found", "others", "none"), keys=_HOTLINE_KEYS),
    "urgent_numbers": Action(urgent_numbers, ("found", "none"), keys=_URGENT_KEYS),
    "home_numbers": Action(home_numbers, ("found", "none"), keys=_URGENT_KEYS),
    "advice_lookup": Action(advice_lookup, ("found", "none"), keys=("advice.line",)),
    "child_numbers": Action(child_numbers, ("found", "none"), keys=_URGENT_KEYS),
    "distress_concern": Action(
        distress_concern,
        CONCERN_OUTCOMES,
        keys=tuple(f"distress.problem.{i}" for i in Indicator),
    ),
    "delete_data": Action(partial(delete_data, reason="user_request"), ("done",)),
    "quick_erase": Action(partial(delete_data, reason="quick_erase"), ("done",)),
    "demographics_due": Action(demographics_due, ("due", "not_due")),
    "save_sex": Action(save_sex, ("done",)),
    "team_status": Action(
        team_status,
        ("open", "closed"),
        keys=(
            "handover.hours",
            "handover.every_day",
            "handover.wait_unknown",
            "handover.wait_minutes",
            "handover.wait_hours",
            *(f"handover.day.{d}" for d in DAYS),
        ),
    ),
}


# Corridor cards, fee comparison and the job-offer check build on the types above.
from bot.corridors.actions import CORRIDOR_ACTIONS  # noqa: E402

ACTIONS.update(CORRIDOR_ACTIONS)
