"""`safestep flows`: lint the flows and locales before they reach a user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.dialogue.check import check as run_check
from bot.dialogue.flows import FLOWS
from bot.dialogue.i18n import LOCALES
from bot.dialogue.translations import unreviewed

app = typer.Typer(no_args_is_help=True)


@app.command()
def check(
    flows: Annotated[Path, typer.Option(help="Folder of flow files.")] = FLOWS,
    locales: Annotated[Path, typer.Option(help="Folder of locale files.")] = LOCALES,
) -> None:
    """Fail (exit 1) on missing keys, unknown intents or steps, unreachable steps, long titles
    or messages over a channel's limit; report (without failing) unreviewed strings."""
    problems = run_check(flows, locales)
    # Information, not failure: a deployment may ship machine or staff translations first.
    counts = unreviewed(locales)
    typer.echo("unreviewed strings: " + ", ".join(f"{lang} {n}" for lang, n in counts.items()))
    if problems:
        typer.echo(f"{len(problems)} problem(s) in flows/locales:", err=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1)
    typer.echo("flows and locales are consistent")
