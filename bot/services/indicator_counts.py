"""Unique users counted as they come: membership rows and the counters they bump.

Each served resource inserts its key into the month's family (and "*", any family), the
month's channel, language and country cells, and the reporting year's family, in one ON
CONFLICT DO NOTHING statement in the event's transaction; only a new row bumps a counter. The
counts are exact (a programme indicator is reported against targets, so no sketches): a key is
in a set at most once, and every change of what a key counts as moves exactly its own rows.

- sex is the key's current answer (`demographics`): each event re-states it, so an answer
  given (or carried over) in a turn moves that key's counts in every month it was counted in;
- delete-my-data moves the rows to the random key that the events get, with no sex stated;
- a closed year's destroyed secret leaves opaque keys behind, like the events themselves.

The counters hold for one family mapping and year start (`indicator_state`); a write under
another one drops that row, and the next report rebuilds everything from the roll-up in bulk.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from datetime import date
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Table,
    bindparam,
    delete,
    event,
    func,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql.expression import cast

from bot.clock import utcnow
from bot.db.models import (
    AnalyticsEvent,
    AnalyticsMonthly,
    Demographic,
    IndicatorCount,
    IndicatorMember,
    IndicatorState,
)
from bot.db.session import insert_for
from bot.services.indicator_config import Config, config_key, families_of, load_config
from bot.services.pseudonyms import reporting_year
from bot.settings import get_settings

ANY = "*"  # the family of every resource that counts in one: "anyone"
NOT_STATED = "not_stated"
CELLS = ("channel", "language", "country")
STATE_ID = 1
SHARDS = 16  # counter rows per figure, so turns of different people seldom wait on one


def shard_of(key: str) -> int:
    return int(key[:4], 16) % SHARDS


# ---- shared parts -------------------------------------------------------------------------


def year_of(month: str, start: str) -> str:
    """The first month (YYYY-MM) of the reporting year `month` falls in."""
    year = reporting_year(date(int(month[:4]), int(month[5:7]), 1), start)
    return f"{year:04d}-{start[5:7]}"


# ---- the live path ------------------------------------------------------------------------


def count_event(session: Session, event: AnalyticsEvent) -> None:
    """Keep the counters with one analytics event (call after its roll-up row is written).

    Every event re-states the key's sex, so an answer saved in a turn moves its counts there.
    Does nothing while the counters are stale; `indicator_state` is read after the roll-up
    write so that a rebuild, which locks the roll-up first, either sees this event or is seen.
    """
    if not _sex_may_have_moved(session) and event.resource is None:
        return  # nothing to count, and no answer to move
    settings = get_settings()
    key, month = event.user_key, event.month
    # One round trip for the state, the answer and whether it moved.
    found = session.execute(_state_and_sex(), {"key": key}).first()
    if found is None:
        return
    if found[0] != _config_key(settings.INDICATORS_FILE, settings.REPORTING_YEAR_START):
        # Counted under another mapping: the next report rebuilds.
        session.execute(delete(IndicatorState))
        return
    sex = str(found[1])
    if found[2]:
        restate_sex(session, key, sex)
    config = load_config(settings.INDICATORS_FILE)
    families = families_of(event.resource, config) if event.resource is not None else []
    if not families:
        return
    values = {"channel": event.channel, "language": event.language, "country": event.country}
    year = year_of(month, settings.REPORTING_YEAR_START)
    members: list[tuple[str, str, str, str, str | None]]
    members = [(month, f, "", "", sex) for f in [*families, ANY]]
    members += [(month, f, d, values[d] or "", None) for f in families for d in CELLS]
    members += [(year, f, "year", "", None) for f in families]
    rows = [
        dict(month=m, family=f, dimension=d, value=v, user_key=key, sex=x)
        for m, f, d, v, x in members
    ]
    new = session.execute(_join(session.get_bind().dialect.name), rows).all()
    joined = {f for f, d, _ in new if d == ""}
    bumps = [(f, "", "", int(f in joined), 1) for f in [*families, ANY]]
    bumps += [(f, "sex", sex, 1, 0) for f in joined]
    bumps += [(f, "new" if d == "year" else d, v, 1, 0) for f, d, v in new if d != ""]
    _bump(session, month, shard_of(key), bumps)


_SEX_WRITTEN = "indicator_counts.sex_written"  # session.info: a demographics row was written


@event.listens_for(Demographic, "after_insert")
@event.listens_for(Demographic, "after_update")
def _sex_written(_mapper: Any, _connection: Any, row: Demographic) -> None:
    session = object_session(row)
    if session is not None:
        session.info[_SEX_WRITTEN] = True


def _sex_may_have_moved(session: Session) -> bool:
    """Whether the session wrote a demographics row (an answer saved or carried over) since
    the counters last looked, or holds one to write. Most turns touch none."""
    return session.info.pop(_SEX_WRITTEN, False) or any(
        isinstance(row, Demographic) for row in session.new
    )


@lru_cache(maxsize=8)
def _config_key(path: str, start: str) -> str:
    return config_key(load_config(path), start)


@cache
def _state_and_sex() -> Any:
    """The counters' state, the sex of key `:key` now, and whether its rows say otherwise."""
    key = bindparam("key", type_=String())
    stated = select(Demographic.sex).where(Demographic.user_key == key).scalar_subquery()
    sex_now = func.coalesce(stated, NOT_STATED)
    moved = select(IndicatorMember.user_key).where(
        IndicatorMember.user_key == key,
        IndicatorMember.dimension == "",
        IndicatorMember.sex != sex_now,
    )
    return select(IndicatorState.config, sex_now, moved.exists()).where(
        IndicatorState.id == STATE_ID
    )


@cache
def _join(dialect: str) -> Any:
    """Insert membership rows (given as parameters); returns those that were new."""
    table = typing.cast(Table, IndicatorMember.__table__)
    return (
        insert_for(dialect)(table)
        .on_conflict_do_nothing()
        .returning(table.c.family, table.c.dimension, table.c.value)
    )


@cache
def _add_to_counts(dialect: str) -> Any:
    """Add to counter rows (given as parameters)."""
    table = typing.cast(Table, IndicatorCount.__table__)
    stmt = insert_for(dialect)(table)
    return stmt.on_conflict_do_update(
        index_elements=["month", "family", "dimension", "value", "shard"],
        set_={
            "users": table.c.users + stmt.excluded.users,
            "interactions": table.c.interactions + stmt.excluded.interactions,
        },
    )


def _bump(
    session: Session, month: str, shard: int, bumps: Iterable[tuple[str, str, str, int, int]]
) -> None:
    """Add to counter rows, locked in one order (family, dimension, value) by every writer."""
    rows = [
        dict(month=month, family=f, dimension=d, value=v, shard=shard, users=u, interactions=n)
        for f, d, v, u, n in sorted(bumps)
    ]
    session.execute(_add_to_counts(session.get_bind().dialect.name), rows)


def restate_sex(session: Session, key: str, sex: str) -> None:
    """Count `key` under `sex` (its current answer) everywhere it is counted."""
    family_rows = (IndicatorMember.user_key == key, IndicatorMember.dimension == "")
    moved = session.execute(
        select(IndicatorMember.month, IndicatorMember.family, IndicatorMember.sex).where(
            *family_rows, IndicatorMember.sex != sex
        )
    ).all()
    for month, family, old in moved:
        bumps = [(family, "sex", str(old), -1, 0), (family, "sex", sex, 1, 0)]
        _bump(session, month, shard_of(key), bumps)
    if moved:
        session.execute(
            update(IndicatorMember)
            .where(*family_rows, IndicatorMember.sex != sex)
            .values(sex=sex)
            .execution_options(synchronize_session=False)
        )


def forget(session: Session, key: str, anonymous: str) -> None:
    """Delete-my-data: the key's rows move to `anonymous`, no sex stated; totals stay."""
    session.execute(
        update(IndicatorMember)
        .where(IndicatorMember.user_key == key)
        .values(user_key=anonymous)
        .execution_options(synchronize_session=False)
    )
    restate_sex(session, anonymous, NOT_STATED)


# ---- the bulk path ------------------------------------------------------------------------


def _pairs(name: str, columns: tuple[str, str], pairs: list[tuple[str, str]]) -> Any:
    """A small constant table, so bulk queries join on equality (SQLite has no VALUES alias)."""
    rows = pairs or [("", "")]
    return union_all(
        *(
            select(
                cast(literal(a), String).label(columns[0]),
                cast(literal(b), String).label(columns[1]),
            )
            for a, b in rows
        )
    ).subquery(name)


def rebuild(session: Session, config: Config, start: str) -> None:
    """Recount everything from the roll-up in bulk SQL, and mark the counters current.

    On PostgreSQL the answers and the roll-up are locked first (in the order a turn writes
    them), so turns being written wait (their counters then go on from the rebuilt ones) and
    those already written are seen.
    """
    if session.get_bind().dialect.name == "postgresql":
        lock = "LOCK TABLE demographics, analytics_monthly IN SHARE ROW EXCLUSIVE MODE"
        session.execute(text(lock))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    for table in (IndicatorMember, IndicatorCount):
        session.execute(delete(table))
    roll_up = AnalyticsMonthly
    resources = session.scalars(select(roll_up.resource).distinct()).all()
    pairs = [(r, f) for r in resources if (found := families_of(r, config)) for f in [*found, ANY]]
    fam = _pairs("fam", ("resource", "family"), pairs)
    months = session.scalars(select(roll_up.month).distinct()).all()
    years = _pairs("years", ("month", "year"), [(m, year_of(m, start)) for m in months])
    joined = roll_up.__table__.join(fam, roll_up.resource == fam.c.resource)
    sex = func.coalesce(Demographic.sex, NOT_STATED)
    nothing, real = literal(""), fam.c.family != ANY
    queries = [
        select(roll_up.month, fam.c.family, nothing, nothing, roll_up.user_key, sex)
        .select_from(joined.outerjoin(Demographic, Demographic.user_key == roll_up.user_key)),
        *(
            select(roll_up.month, fam.c.family, literal(d), getattr(roll_up, d),
                   roll_up.user_key, cast(literal(None), String))
            .select_from(joined).where(real)
            for d in CELLS
        ),
        select(years.c.year, fam.c.family, literal("year"), nothing, roll_up.user_key,
               cast(literal(None), String))
        .select_from(joined.join(years, years.c.month == roll_up.month)).where(real),
    ]  # fmt: skip
    for query in queries:
        _fill(session, IndicatorMember, query.distinct())
    _count(session, config, start, fam, years)


def _fill(session: Session, table: Any, query: Select[Any]) -> None:
    columns = [c.name for c in table.__table__.columns]
    session.execute(table.__table__.insert().from_select(columns, query))


def _count(session: Session, config: Config, start: str, fam: Any, years: Any) -> None:
    """The counters from the membership rows, in shard 0; interactions from the roll-up.

    A year's newcomers are counted in the month they first came, from the roll-up.
    """
    m, roll_up = IndicatorMember, AnalyticsMonthly
    zero, count = literal(0), func.count()
    sets = (m.month, m.family, m.dimension, m.value)
    first = (
        select(fam.c.family, roll_up.user_key, func.min(roll_up.month).label("month"))
        .select_from(
            roll_up.__table__.join(fam, roll_up.resource == fam.c.resource).join(
                years, years.c.month == roll_up.month
            )
        )
        .where(fam.c.family != ANY)
        .group_by(years.c.year, fam.c.family, roll_up.user_key)
        .subquery("first")
    )
    queries = [
        select(*sets, zero, count, zero).where(m.dimension != "year").group_by(*sets),
        select(m.month, m.family, literal("sex"), m.sex, zero, count, zero)
        .where(m.dimension == "")
        .group_by(m.month, m.family, m.sex),
        select(
            first.c.month, first.c.family, literal("new"), literal(""), zero, count, zero
        ).group_by(first.c.month, first.c.family),
    ]
    for query in queries:
        _fill(session, IndicatorCount, query)
    interactions = (
        select(roll_up.month, fam.c.family, func.sum(roll_up.interactions).label("n"))
        .select_from(roll_up.__table__.join(fam, roll_up.resource == fam.c.resource))
        .group_by(roll_up.month, fam.c.family)
        .subquery("interactions")
    )
    session.execute(
        update(IndicatorCount)
        .where(
            IndicatorCount.month == interactions.c.month,
            IndicatorCount.family == interactions.c.family,
            IndicatorCount.dimension == "",
        )
        .values(interactions=interactions.c.n)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(IndicatorState))
    session.add(IndicatorState(id=STATE_ID, config=config_key(config, start), built_at=utcnow()))
    session.flush()


def read(session: Session, first: str, last: str) -> list[tuple[str, str, str, str, int, int]]:
    """The counters of months `first`..`last` (YYYY-MM), summed over shards, zeros left out."""
    c = IndicatorCount
    users, interactions = func.sum(c.users), func.sum(c.interactions)
    rows = session.execute(
        select(c.month, c.family, c.dimension, c.value, users, interactions)
        .where(c.month >= first, c.month <= last)
        .group_by(c.month, c.family, c.dimension, c.value)
        .having((users > 0) | (interactions > 0))
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def current(session: Session, config: Config, start: str) -> None:
    """Make sure the counters hold for this mapping and year start (rebuilding if not)."""
    state = session.get(IndicatorState, STATE_ID)
    if state is None or state.config != config_key(config, start):
        rebuild(session, config, start)
