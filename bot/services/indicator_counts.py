"""Unique users counted as they come: membership rows and the counters they bump.

Each served resource inserts its key into the month's family (and "*", any family), the
month's channel, language and country cells, and the reporting year's family, all with ON
CONFLICT DO NOTHING in the event's transaction; only a row that is new bumps its counter. The
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

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, String, delete, func, literal, select, text, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import cast

from bot.clock import utcnow
from bot.db.models import (
    AnalyticsEvent,
    AnalyticsMonthly,
    Demographic,
    IndicatorCell,
    IndicatorCount,
    IndicatorState,
    IndicatorUser,
    IndicatorYearUser,
)
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


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# ---- the live path ------------------------------------------------------------------------


def count_event(session: Session, event: AnalyticsEvent) -> None:
    """Keep the counters with one analytics event (call after its roll-up row is written).

    Every event re-states the key's sex, so an answer saved in a turn moves its counts there.
    Does nothing while the counters are stale; `indicator_state` is read after the roll-up
    write so that a rebuild, which locks the roll-up first, either sees this event or is seen.
    """
    settings = get_settings()
    config = load_config(settings.INDICATORS_FILE)
    state = session.get(IndicatorState, STATE_ID)
    if state is None:
        return
    if state.config != config_key(config, settings.REPORTING_YEAR_START):
        session.delete(state)  # counted under another mapping: the next report rebuilds
        return
    sex = restate_sex(session, event.user_key)
    if event.resource is None or not (found := families_of(event.resource, config)):
        return
    insert = _insert(session)
    key, month = event.user_key, event.month
    users = {
        f
        for (f,) in session.execute(
            insert(IndicatorUser)
            .values([dict(month=month, family=f, user_key=key, sex=sex) for f in [*found, ANY]])
            .on_conflict_do_nothing()
            .returning(IndicatorUser.family)
        )
    }
    values = {"channel": event.channel, "language": event.language, "country": event.country}
    cells = session.execute(
        insert(IndicatorCell)
        .values(
            [
                dict(month=month, family=f, dimension=d, value=values[d] or "", user_key=key)
                for f in found
                for d in CELLS
            ]
        )
        .on_conflict_do_nothing()
        .returning(IndicatorCell.family, IndicatorCell.dimension, IndicatorCell.value)
    ).all()
    year = year_of(month, settings.REPORTING_YEAR_START)
    newcomers = session.scalars(
        insert(IndicatorYearUser)
        .values([dict(year=year, family=f, user_key=key, month=month) for f in found])
        .on_conflict_do_nothing()
        .returning(IndicatorYearUser.family)
    ).all()
    bumps = [(f, "", "", int(f in users), 1) for f in [*found, ANY]]
    bumps += [(f, "sex", sex, 1, 0) for f in users]
    bumps += [(f, d, v, 1, 0) for f, d, v in cells]
    bumps += [(f, "new", "", 1, 0) for f in newcomers]
    _bump(session, month, shard_of(key), bumps)


def _bump(
    session: Session, month: str, shard: int, bumps: Iterable[tuple[str, str, str, int, int]]
) -> None:
    """Add to counter rows, locked in one order (family, dimension, value) by every writer."""
    rows = [
        dict(month=month, family=f, dimension=d, value=v, shard=shard, users=u, interactions=n)
        for f, d, v, u, n in sorted(bumps)
    ]
    stmt = _insert(session)(IndicatorCount).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["month", "family", "dimension", "value", "shard"],
            set_={
                "users": IndicatorCount.users + stmt.excluded.users,
                "interactions": IndicatorCount.interactions + stmt.excluded.interactions,
            },
        )
    )


def restate_sex(session: Session, key: str) -> str:
    """Count `key` under its current sex everywhere it is counted; that sex."""
    row = session.get(Demographic, key)
    sex = row.sex if row is not None else NOT_STATED
    moved = session.execute(
        select(IndicatorUser.month, IndicatorUser.family, IndicatorUser.sex).where(
            IndicatorUser.user_key == key, IndicatorUser.sex != sex
        )
    ).all()
    for month, family, old in moved:
        bumps = [(family, "sex", old, -1, 0), (family, "sex", sex, 1, 0)]
        _bump(session, month, shard_of(key), bumps)
    if moved:
        session.execute(
            update(IndicatorUser)
            .where(IndicatorUser.user_key == key, IndicatorUser.sex != sex)
            .values(sex=sex)
            .execution_options(synchronize_session=False)
        )
    return sex


def forget(session: Session, key: str, anonymous: str) -> None:
    """Delete-my-data: the key's rows move to `anonymous` (no sex stated); totals stay."""
    for table in (IndicatorUser, IndicatorCell, IndicatorYearUser):
        session.execute(
            update(table)
            .where(table.user_key == key)
            .values(user_key=anonymous)
            .execution_options(synchronize_session=False)
        )
    restate_sex(session, anonymous)


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
    for table in (IndicatorUser, IndicatorCell, IndicatorYearUser, IndicatorCount):
        session.execute(delete(table))
    roll_up = AnalyticsMonthly
    resources = session.scalars(select(roll_up.resource).distinct()).all()
    fam = _pairs(
        "fam",
        ("resource", "family"),
        [(r, f) for r in resources if (found := families_of(r, config)) for f in [*found, ANY]],
    )
    months = session.scalars(select(roll_up.month).distinct()).all()
    years = _pairs("years", ("month", "year"), [(m, year_of(m, start)) for m in months])
    joined = roll_up.__table__.join(fam, roll_up.resource == fam.c.resource)
    sex = func.coalesce(Demographic.sex, NOT_STATED)
    _fill(
        session,
        IndicatorUser,
        select(roll_up.month, fam.c.family, roll_up.user_key, sex)
        .select_from(joined.outerjoin(Demographic, Demographic.user_key == roll_up.user_key))
        .distinct(),
    )
    real = fam.c.family != ANY
    for dimension in CELLS:
        _fill(
            session,
            IndicatorCell,
            select(
                roll_up.month,
                fam.c.family,
                literal(dimension),
                getattr(roll_up, dimension),
                roll_up.user_key,
            )
            .select_from(joined)
            .where(real)
            .distinct(),
        )
    _fill(
        session,
        IndicatorYearUser,
        select(years.c.year, fam.c.family, roll_up.user_key, func.min(roll_up.month))
        .select_from(joined.join(years, years.c.month == roll_up.month))
        .where(real)
        .group_by(years.c.year, fam.c.family, roll_up.user_key),
    )
    _count(session, config, start, fam)


def _fill(session: Session, table: Any, query: Select[Any]) -> None:
    columns = [c.name for c in table.__table__.columns]
    session.execute(table.__table__.insert().from_select(columns, query))


def _count(session: Session, config: Config, start: str, fam: Any) -> None:
    """The counters from the membership rows, in shard 0; interactions from the roll-up."""
    users, cells, years = IndicatorUser, IndicatorCell, IndicatorYearUser
    roll_up = AnalyticsMonthly
    zero, count = literal(0), func.count()
    queries = [
        select(users.month, users.family, literal(""), literal(""), zero, count, zero)
        .group_by(users.month, users.family),
        select(users.month, users.family, literal("sex"), users.sex, zero, count, zero)
        .group_by(users.month, users.family, users.sex),
        select(cells.month, cells.family, cells.dimension, cells.value, zero, count, zero)
        .group_by(cells.month, cells.family, cells.dimension, cells.value),
        select(years.month, years.family, literal("new"), literal(""), zero, count, zero)
        .group_by(years.month, years.family),
    ]  # fmt: skip
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
