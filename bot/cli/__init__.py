"""`safestep`: one command line for running, operating and reporting."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

import typer

from bot.cli import flows, locales, nlu, registry, report, staff
from bot.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="SafeStep: safe-migration chatbot.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
viber_app = typer.Typer(no_args_is_help=True, help="Viber bot set-up.")
outbox_app = typer.Typer(no_args_is_help=True, help="Replies waiting to go out.")
app.add_typer(db_app, name="db")
app.add_typer(outbox_app, name="outbox")
app.add_typer(viber_app, name="viber")
app.add_typer(nlu.app, name="nlu", help="Train, serve, query and evaluate the NLU model.")
app.add_typer(flows.app, name="flows", help="Check flows and locales.")
app.add_typer(locales.app, name="locales", help="Export and import translations (PO).")
app.add_typer(registry.app, name="registry", help="Import agency and hotline lists.")
app.add_typer(staff.app, name="staff", help="Console accounts.")
app.add_typer(report.app, name="report", help="Programme indicators.")


def _logging() -> None:
    from bot.logs import configure

    configure()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations to DATABASE_URL."""
    from bot.db.migrate import upgrade

    _logging()
    upgrade(get_settings().DATABASE_URL)
    typer.echo("database is up to date")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: bool = typer.Option(True, help="Run the message workers in this process."),
) -> None:
    """The web app (webhooks, console) and, unless --no-workers, the workers; no migrations."""
    import uvicorn

    from bot.app import create_app

    _logging()
    app = create_app(run_workers=workers, freeze_heap=True)
    uvicorn.run(app, host=host, port=port, log_config=None)


@app.command()
def worker(
    host: str = typer.Option("127.0.0.1", help="Interface for /healthz and /readyz."),
    port: int = typer.Option(8001, help="Port for /healthz and /readyz."),
) -> None:
    """The background workers alone (inbound, outbox, daily purge), for scaling apart."""
    import uvicorn

    from bot.app import create_app
    from bot.pipeline.worker import yield_cpu_to_web

    _logging()
    yield_cpu_to_web(get_settings().WORKER_NICE)
    app = create_app(run_workers=True, web=False, freeze_heap=True)
    uvicorn.run(app, host=host, port=port, log_config=None)


@outbox_app.command("retry")
def outbox_retry(
    failed: bool = typer.Option(False, "--failed", help="Re-send replies that failed for good."),
    since: str | None = typer.Option(None, help="Only replies created on or after YYYY-MM-DD."),
) -> None:
    """Give failed replies back to the sender, oldest first (users still reachable only)."""
    from bot.db.session import Database
    from bot.pipeline import outbox

    if not failed:
        raise typer.BadParameter("say which replies: --failed")
    try:
        start = date.fromisoformat(since) if since else None
    except ValueError:
        raise typer.BadParameter("--since takes a date, YYYY-MM-DD") from None
    _logging()
    db = Database(get_settings().DATABASE_URL)
    try:
        with db.session() as session:
            count = outbox.retry_failed(session, start)
    finally:
        db.dispose()
    typer.echo(f"{count} failed repl{'y' if count == 1 else 'ies'} queued again")


@app.command()
def run(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Everything for a local user: migrations, starter data, NLU server, bot."""
    from bot.local import run_everything

    _logging()
    run_everything(get_settings(), host=host, port=port)


@app.command()
def purge() -> None:
    """Apply retention now (the app also runs it daily): see the *_RETENTION_DAYS settings."""
    from bot.db.session import Database
    from bot.services.privacy import purge as apply_retention

    _logging()
    settings = get_settings()
    db = Database(settings.DATABASE_URL)
    try:
        with db.session() as session:
            typer.echo(apply_retention(session, settings).summary())
    finally:
        db.dispose()


@viber_app.command("set-webhook")
def viber_set_webhook(url: str) -> None:
    """Register URL (https://…/webhooks/viber) as this bot's Viber webhook."""
    from bot.channels.viber import Viber

    settings = get_settings()
    if not settings.viber_enabled:
        raise typer.BadParameter("VIBER_AUTH_TOKEN is not set")

    async def register() -> dict:
        viber = Viber(
            auth_token=settings.VIBER_AUTH_TOKEN,
            bot_name=settings.VIBER_BOT_NAME,
            api_url=settings.VIBER_API_URL,
            timeout=settings.HTTP_TIMEOUT_SECONDS,
        )
        try:
            return await viber.set_webhook(url)
        finally:
            await viber.aclose()

    answer = asyncio.run(register())
    if answer.get("status") != 0:
        typer.echo(f"Viber refused: {answer}", err=True)
        raise typer.Exit(1)
    typer.echo(f"webhook set: {url}")


def main() -> None:
    logging.captureWarnings(True)
    app()
