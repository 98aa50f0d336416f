"""Claiming rows for a worker, safely across threads and processes.

Inbound events and outbox messages share one life cycle: `pending` → `working` (under a lease)
→ a final status. A claim is an UPDATE conditional on the row still being claimable, so one
that lost a race to another worker leaves that row out (on PostgreSQL an outbox claim also
skips rows another worker holds, `FOR UPDATE SKIP LOCKED`; SQLite has one writer at a time).
A worker that dies mid-task loses its lease, and the row becomes claimable again.

Each claim carries a fresh token. Whatever a worker does with a claimed row afterwards is
conditional on the row still carrying its token, so a worker that stalled past its lease (and
whose row another worker took over) cannot finish the same work a second time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ClauseElement,
    ColumnElement,
    DateTime,
    Select,
    Table,
    any_,
    bindparam,
    func,
    or_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.db.session import rowcount

PENDING, WORKING = "pending", "working"


@dataclass(frozen=True)
class Claim:
    """A row held by one worker: its id and the token that proves the lease is still ours."""

    id: int
    token: str


def claimable(model: Any, now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Pending rows, and rows whose worker died holding them."""
    return or_(model.status == PENDING, (model.status == WORKING) & (model.lease_until < now))


def unfinished(status: Any) -> ColumnElement[bool]:
    """`status` is pending or working, with two plain parameters: an IN list of values is an
    expanding parameter, rendered anew at every execution (a regular expression over the SQL:
    2.6% of a worker's CPU in the statement every turn runs, py-spy)."""
    return or_(status == PENDING, status == WORKING)


def now_param() -> BindParameter[datetime]:
    """The time a prebuilt statement is run at, given as the parameter `now`.

    The hot statements (claims, settling a claim) are built once with parameters, not per call:
    SQLAlchemy then reuses each one's cache key and compiled form, where building them cost
    more than running them (0.1-0.4 ms each, measured)."""
    return bindparam("now", type_=DateTime(timezone=True))


def claim_batch(
    connection: Connection,
    model: Any,
    candidates: Select,
    lease_seconds: float,
    limit: int,
    *returning: Any,
) -> list[tuple[Claim, tuple[Any, ...]]]:
    """Take up to `limit` rows that `candidates` selects, oldest first, in one statement:
    an UPDATE of the rows its subquery picks (on PostgreSQL skipping rows another worker
    holds). Run on its own (`Database.autocommit`), one round trip; see `take`."""
    dialect = connection.dialect.name
    return _take(
        connection,
        _claim_statement(model, candidates, returning, dialect),
        {"limit": limit},
        lease_seconds,
    )


def take(
    connection: Connection, model: Any, ids: list[int], lease_seconds: float, *returning: Any
) -> list[tuple[Claim, tuple[Any, ...]]]:
    """Take the rows `ids` that are still claimable, in one statement (a row another worker
    claimed since it was picked is left out)."""
    if not ids:
        return []
    return _take(connection, _take_statement(model, returning), {"ids": ids}, lease_seconds)


def _take(
    connection: Connection, statement: Any, params: dict[str, Any], lease_seconds: float
) -> list[tuple[Claim, tuple[Any, ...]]]:
    """Run a claiming UPDATE. The rows share one fresh token (a takeover still gives each row
    a new one); `returning` columns come back with each claim, so the worker reads nothing
    more."""
    now = utcnow()
    lease = now + timedelta(seconds=lease_seconds)
    token = secrets.token_hex(16)
    claimed = connection.execute(
        statement, params | {"now": now, "lease": lease, "token": token}
    ).all()
    return sorted(
        ((Claim(row[0], row[1]), tuple(row[2:])) for row in claimed), key=lambda c: c[0].id
    )


@cache
def _claim_statement(
    model: Any, candidates: Select, returning: tuple[Any, ...], dialect: str
) -> Any:
    """`claim_batch`'s statement for these candidates (built once: `now_param`).

    The picked ids are computed once, before the UPDATE looks at any row: on PostgreSQL as
    `id = ANY(ARRAY(subquery))` (an init plan, then a primary-key look-up per id), on SQLite as
    `IN (subquery)`. As `IN (subquery)`, PostgreSQL could join the subquery against every
    unfinished row, or scan it again for each, picking more rows than the limit.
    """
    picked = candidates.limit(bindparam("limit")).with_for_update(skip_locked=True, of=model)
    rows = _table(model).c
    if dialect == "postgresql":
        among = rows.id == any_(func.array(picked.scalar_subquery()))
    else:
        among = rows.id.in_(picked)
    return _claiming(model, among, returning)


@cache
def _take_statement(model: Any, returning: tuple[Any, ...]) -> Any:
    """`take`'s statement: the ids are a parameter (`:ids`)."""
    return _claiming(model, _table(model).c.id.in_(bindparam("ids", expanding=True)), returning)


def _claiming(model: Any, among: ColumnElement[bool], returning: tuple[Any, ...]) -> Any:
    """Claim the claimable rows `among` selects, returning id, token and `returning`."""
    rows = _table(model).c
    return (
        update(_table(model))
        .where(among, claimable(rows, now_param()))
        .values(
            status=WORKING,
            lease_until=bindparam("lease"),
            attempts=rows.attempts + 1,
            claim_token=bindparam("token"),
        )
        .returning(rows.id, rows.claim_token, *(rows[column.key] for column in returning))
    )


def _table(model: Any) -> Table:
    """The model's table: the hot UPDATEs are written on it, not on the mapped class, so the
    session runs them as plain statements (the ORM's bulk-update path cost 0.1 ms more each)."""
    return cast(Table, model.__table__)


def settle(session: Session, model: Any, claim: Claim, **values: Any) -> bool:
    """Set `values` on the claimed row if this claim still holds it; False when it was lost.

    On PostgreSQL the UPDATE also locks the row until the transaction ends, so a worker that
    re-claims it meanwhile waits and then finds it no longer claimable. A copy of the row
    loaded in the session is not updated (no caller reads one back).
    """
    held = {"held_id": claim.id, "held_token": claim.token}
    if any(isinstance(v, ClauseElement) for v in values.values()):  # an expression: built here
        done = session.execute(held_row(model).values(**values), held)
    else:  # the usual case: a statement built once per set of columns (`now_param`)
        statement = _settle_statement(model, tuple(values))
        done = session.execute(statement, held | {f"new_{k}": v for k, v in values.items()})
    return rowcount(done) == 1


@cache
def held_row(model: Any) -> Any:
    """An UPDATE of the row a claim (`:held_id`, `:held_token`) still holds (values to add)."""
    rows = _table(model).c
    return update(_table(model)).where(
        rows.id == bindparam("held_id"),
        rows.claim_token == bindparam("held_token"),
        rows.status == WORKING,
    )


@cache
def _settle_statement(model: Any, columns: tuple[str, ...]) -> Any:
    return held_row(model).values({column: bindparam(f"new_{column}") for column in columns})


def renew(session: Session, model: Any, claim: Claim, lease_seconds: float) -> bool:
    """Extend the lease before a step that cannot be undone; False when the claim was lost."""
    return settle(session, model, claim, lease_until=utcnow() + timedelta(seconds=lease_seconds))


def is_database_outage(exc: BaseException) -> bool:
    """The database was unreachable or locked: nobody's fault, retry without counting."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
