"""`safestep report`: the programme's O1.1.3 indicator from the anonymized log."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from bot.db.session import Database
from bot.services import indicators
from bot.settings import get_settings

app = typer.Typer(no_args_is_help=True)


class Format(StrEnum):
    json = "json"
    csv = "csv"
    md = "md"


@app.command("indicators")
def indicators_command(
    first: str = typer.Option(..., "--from", help="First month, YYYY-MM."),
    last: str = typer.Option(..., "--to", help="Last month, YYYY-MM."),
    format: Annotated[Format, typer.Option("--format", help="json, csv or md.")] = Format.json,
) -> None:
    """Unique users per resource family and month, disaggregated and suppressed (O1.1.3)."""
    settings = get_settings()
    try:
        if not indicators.months_between(first, last):
            raise ValueError(f"--from {first} is after --to {last}")
        indicators.baseline_months(settings.INDICATOR_BASELINE, settings.REPORTING_YEAR_START)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    db = Database(settings.DATABASE_URL)
    try:
        with db.session() as session:  # a rebuild of stale counters is kept
            doc = indicators.report(session, first, last, settings)
    finally:
        db.dispose()
    if format is Format.json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    elif format is Format.csv:
        typer.echo(indicators.to_csv(doc), nl=False)
    else:
        typer.echo(indicators.to_markdown(doc), nl=False)
