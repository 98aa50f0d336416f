"""`safestep locales`: the translator round trip through PO files (Poedit, Weblate)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.dialogue.i18n import LOCALES

app = typer.Typer(no_args_is_help=True)


@app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write <lang>.po files into.")],
    format: Annotated[str, typer.Option("--format", help="Only po for now.")] = "po",
    locales: Annotated[Path, typer.Option(help="Folder of locale files.")] = LOCALES,
) -> None:
    """One PO file per language; strings not yet reviewed are marked fuzzy."""
    from bot.dialogue.translations import export_po

    if format != "po":
        raise typer.BadParameter("only --format po is supported", param_hint="--format")
    for path in export_po(locales, directory):
        typer.echo(f"wrote {path}")


@app.command("import")
def import_(
    directory: Annotated[Path, typer.Argument(help="Folder holding the <lang>.po files.")],
    locales: Annotated[Path, typer.Option(help="Folder of locale files.")] = LOCALES,
) -> None:
    """Translations back into their locale files; entries not fuzzy become reviewed."""
    from bot.dialogue.translations import import_po

    result = import_po(locales, directory)
    typer.echo(
        f"{result.changed} text(s) changed in {len(result.files)} file(s); "
        f"{result.reviewed} string(s) marked reviewed"
    )
