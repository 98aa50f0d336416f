"""`safestep registry`: import agency licence lists and hotlines from CSV, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from bot.clock import utcnow
from bot.db.models import Hotline
from bot.db.session import Database
from bot.services import coverage
from bot.services.imports import (
    ImportFailed,
    apply_agencies,
    apply_hotlines,
    parse_agencies,
    parse_date,
    parse_hotlines,
)
from bot.settings import get_settings

app = typer.Typer(no_args_is_help=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"cannot read {path}: {exc}", err=True)
        raise typer.Exit(1) from exc


def _fail(path: Path, error: ImportFailed) -> None:
    typer.echo(f"{path}: {len(error.errors)} problem(s); nothing was imported:", err=True)
    for row in error.errors:
        typer.echo(f"  - {row}", err=True)
    raise typer.Exit(1)


@app.command("import-agencies")
def import_agencies(
    file: Annotated[Path, typer.Argument(help="UTF-8 CSV: licence_number,name,aliases,...")],
    country: str = typer.Option(..., help="ISO code of the licensing authority's country."),
    source: str = typer.Option(..., help="Where the list comes from (shown to users)."),
    retrieved: str = typer.Option(..., help="When the list was retrieved, YYYY-MM-DD."),
    sample: bool = typer.Option(False, help="Mark as SAMPLE data (every answer says so)."),
) -> None:
    """Replace the (country, source) snapshot with FILE."""
    try:
        day = parse_date(retrieved)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--retrieved") from exc
    country = country.upper()
    try:
        rows = parse_agencies(
            _read(file), country=country, source=source, retrieved=day, is_sample=sample
        )
    except ImportFailed as exc:
        _fail(file, exc)
        return
    db = Database(get_settings().DATABASE_URL)
    try:
        with db.session() as session:
            count = apply_agencies(session, rows, country=country, source=source)
    finally:
        db.dispose()
    typer.echo(f"imported {count} agencies for {country} from {source!r} ({day})")


@app.command("import-hotlines")
def import_hotlines(
    file: Annotated[Path, typer.Argument(help="UTF-8 CSV: country,purpose,number,...")],
) -> None:
    """Replace the hotlines of every country FILE lists."""
    try:
        rows = parse_hotlines(_read(file))
    except ImportFailed as exc:
        _fail(file, exc)
        return
    db = Database(get_settings().DATABASE_URL)
    try:
        with db.session() as session:
            count = apply_hotlines(session, rows)
    finally:
        db.dispose()
    countries = ", ".join(sorted({row["country"] for row in rows}))
    typer.echo(f"imported {count} hotlines ({countries})")


@app.command("coverage")
def show_coverage(
    stale_months: int = typer.Option(12, help="Rows retrieved longer ago than this are stale."),
) -> None:
    """Destination × purpose × language table of the hotline directory, weak cells marked.

    Marks: GAP (no row), unverified (known but not shown to users), stale, low (confidence
    L or L-M), no-url (no source address). Exits 1 when a destination lacks an emergency
    number or a worker/anti-trafficking line.
    """
    db = Database(get_settings().DATABASE_URL)
    try:
        with db.session() as session:
            cells = coverage.table(session.scalars(select(Hotline)), utcnow().date(), stale_months)
    finally:
        db.dispose()
    typer.echo(coverage.render(cells))
    missing = coverage.missing_essentials(cells)
    for line in missing:
        typer.echo(f"MISSING {line}", err=True)
    if missing:
        raise typer.Exit(1)
