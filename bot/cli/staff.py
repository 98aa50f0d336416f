"""`safestep staff`: console accounts from the command line (the first admin starts here)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bot.console.accounts import AccountError, create_staff
from bot.db.session import Database
from bot.settings import get_settings

app = typer.Typer(no_args_is_help=True)


def _password() -> str:
    """Prompted twice on a terminal; otherwise the first line of stdin (for scripts)."""
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@app.command("create")
def create(
    email: Annotated[str, typer.Option(help="Login email.")],
    role: Annotated[str, typer.Option(help="agent, supervisor or admin.")],
    languages: Annotated[str, typer.Option(help="Languages the person works in, e.g. my,en.")] = "",
) -> None:
    """Create a console account; the password is prompted (or read from stdin)."""
    password = _password()
    database = Database(get_settings().DATABASE_URL)
    try:
        with database.session() as session:
            staff = create_staff(
                session,
                email=email,
                role=role,
                password=password,
                languages=[code.strip() for code in languages.split(",") if code.strip()],
            )
            typer.echo(f"created {staff.email} ({staff.role})")
    except AccountError as error:
        typer.echo(f"not created: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
