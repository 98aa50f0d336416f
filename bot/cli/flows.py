"""`safestep flows`: lint the flows and locales before they reach a user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.dialogue.check import check as run_check
from bot.dialogue.flows import FLOWS
from bot.dialogue.i18n import LOCALES

app = typer.Typer(no_args_is_help=True)


@app.command()
def check(
    flows: Annotated[Path, typer.Option(help="Folder of flow files.")] = FLOWS,
    locales: Annotated[Path, typer.Option(help="Folder of locale files.")] = LOCALES,
) -> None:
    """Fail (exit 1) on missing keys, unknown intents or steps, unreachable steps, long titles
    or messages over a channel's limit."""
    problems = run_check(flows, locales)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in flows/locales:", err=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1)
    typer.echo("flows and locales are consistent")
