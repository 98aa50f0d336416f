"""Writes that ride along a turn's next statement on PostgreSQL: one round trip, not two.

A turn ends with writes that return nothing and that nothing in the turn reads back: where the
conversation now is, the analytics log line. Each was a round trip of its own, a wait for the
server and CPU on both sides. On PostgreSQL they wait in the session instead and go with the
next statement that says it can carry them (`CARRIES_WRITES`), as data-modifying CTEs, which
PostgreSQL runs exactly once whether or not the statement reads them. A statement that does not
say so, a flush and the commit send the waiting writes first (together, in one statement), so
they always reach the database before anything the session does after them, and a rollback
drops them with the rest. On SQLite a write runs at once: statements there are calls.

A carrier must not read the tables its riders write: CTEs and the statement share one snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, event, literal, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.dml import Insert

# Execution option of a statement that may carry waiting writes as CTEs.
CARRIES_WRITES = "carries_writes"
_WAITING = "riders.waiting"  # session.info: [_Write]

# A write's statement for a backend, every parameter named with the given prefix; built once
# per (dialect, prefix), so SQLAlchemy compiles each shape once.
Build = Callable[[str, str], Insert]


def bound(table: Table, names: tuple[str, ...], prefix: str) -> dict[str, Any]:
    """The VALUES of a `Build`'s statement: each column `name` as parameter `prefix + name`."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


@dataclass(frozen=True)
class _Write:
    build: Build
    parameters: dict[str, Any]
    key: Any


def write(session: Session, build: Build, parameters: dict[str, Any], key: Any = None) -> None:
    """Run `build`'s statement now (SQLite) or with the session's next statement (PostgreSQL).

    `key`: the row a write replaces whole (an upsert). Two CTEs must not change one row (which
    of them wins is not defined), so a later write with the same key replaces the waiting one:
    the row ends as if both had run in turn.
    """
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        session.execute(build(dialect, ""), parameters)
        return
    waiting: list[_Write] = session.info.setdefault(_WAITING, [])
    if key is not None:
        waiting[:] = [w for w in waiting if (w.build, w.key) != (build, key)]
    waiting.append(_Write(build, parameters, key))


def _prefix(position: int) -> str:
    return f"w{position}_"


def _parameters(waiting: list[_Write]) -> dict[str, Any]:
    return {
        _prefix(i) + name: value
        for i, write in enumerate(waiting)
        for name, value in write.parameters.items()
    }


@cache
def _carried(carrier: Any, builds: tuple[Build, ...]) -> Any:
    """`carrier` with the writes as CTEs, built once per shape (the carriers are built once)."""
    writes = [build("postgresql", _prefix(i)).cte(f"w{i}") for i, build in enumerate(builds)]
    return carrier.add_cte(*writes)


def _send(session: Session) -> None:
    """The waiting writes on their own: one statement for all of them."""
    waiting: list[_Write] | None = session.info.pop(_WAITING, None)
    if waiting:
        builds = tuple(w.build for w in waiting)
        session.execute(_carried(_alone(), builds), _parameters(waiting))


@cache
def _alone() -> Any:
    return select(literal(1))


@event.listens_for(Session, "do_orm_execute")
def _ride(state: ORMExecuteState) -> Any:
    waiting: list[_Write] | None = state.session.info.get(_WAITING)
    if not waiting:
        return None
    parameters = state.parameters
    if not state.execution_options.get(CARRIES_WRITES) or not isinstance(parameters, dict):
        _send(state.session)
        return None
    del state.session.info[_WAITING]
    builds = tuple(w.build for w in waiting)
    return state.invoke_statement(
        statement=_carried(state.statement, builds), params=_parameters(waiting)
    )


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Sequence[Any] | None) -> None:
    _send(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _send(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction(session: Session, transaction: SessionTransaction) -> None:
    """Sent before a commit; after a rollback of the whole transaction, void with the rest."""
    if transaction.parent is None:
        session.info.pop(_WAITING, None)
