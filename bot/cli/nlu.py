"""`safestep nlu`: train, serve, query and evaluate the NLU model.

`parse` and `eval` run the same pipeline as the bot (normalization, Rasa, keyword fallback,
safety net). When no NLU server answers at RASA_URL they start one for the run (training first
if needed) and stop it afterwards; `--no-start` measures degraded mode instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlparse

import typer

from bot.settings import get_settings

if TYPE_CHECKING:
    from bot.understanding.pipeline import NluPipeline

app = typer.Typer(no_args_is_help=True)
log = logging.getLogger(__name__)


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


@asynccontextmanager
async def _pipeline(start: bool) -> AsyncIterator[NluPipeline]:
    """The bot's pipeline, with an NLU server of our own when none is reachable."""
    from bot.understanding import nlu_env
    from bot.understanding.pipeline import NluPipeline
    from bot.understanding.rasa_client import RasaClient

    settings = get_settings()
    url, token, server = settings.RASA_URL, settings.RASA_TOKEN, None
    probe = RasaClient(url, token, timeout=2.0)
    reachable = await probe.ready()
    await probe.aclose()
    if not reachable and start:
        parsed = urlparse(url)
        local = parsed.hostname in ("127.0.0.1", "localhost")
        port = parsed.port if local and parsed.port else nlu_env.free_port()
        log.info("no NLU server at %s; starting one on port %d", url, port)
        server = await asyncio.to_thread(nlu_env.start_server, port, token)
        url = server.url
    # Batch runs wait longer than the bot would for each answer: a cold model's first parses
    # are slow, and a timeout here would measure the fallback instead of the model.
    timeout = max(settings.NLU_TIMEOUT_SECONDS, 10.0) if (reachable or server) else 1.0
    pipeline = NluPipeline(RasaClient(url, token, timeout) if (reachable or server) else None)
    try:
        yield pipeline
    finally:
        await pipeline.aclose()
        if server is not None:
            server.stop()


@app.command()
def train(
    force: bool = typer.Option(False, help="Train even if a model for this project exists."),
    config: Annotated[
        Path | None, typer.Option(help="Another Rasa config (default nlu/config.yml).")
    ] = None,
) -> None:
    """Create the NLU environment and train the model if the project changed."""
    from bot.understanding import nlu_env

    _logging()
    typer.echo(str(nlu_env.ensure_model(config.resolve() if config else None, force=force)))


@app.command()
def serve(port: int | None = typer.Option(None, help="Port (default: RASA_URL's port).")) -> None:
    """Serve the model on 127.0.0.1 (training first if it is missing or stale)."""
    from bot.understanding import nlu_env

    _logging()
    settings = get_settings()
    port = port or urlparse(settings.RASA_URL).port or 5005
    server = nlu_env.start_server(
        port, settings.RASA_TOKEN, nice=settings.NLU_NICE, cores=settings.nlu_cores()
    )
    typer.echo(f"NLU server ready at {server.url} (log: {server.log_path})", err=True)
    # rasa runs in its own session: stop it on SIGTERM (docker stop, systemd) as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@app.command()
def parse(
    start: bool = typer.Option(True, help="Start an NLU server if none is reachable."),
) -> None:
    """stdin: one text a line; stdout: one JSON object a line, in order."""
    _logging()

    async def run() -> None:
        async with _pipeline(start) as pipeline:
            for line in sys.stdin:
                text = line.rstrip("\n")
                result = await pipeline.parse(text)
                sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
                sys.stdout.flush()

    asyncio.run(run())


@app.command("eval")
def evaluate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines to score.")],
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
    start: bool = typer.Option(True, help="Start an NLU server if none is reachable."),
) -> None:
    """Per-language and per-intent scores, urgent recall and false alarms, the risk-level
    confusion matrix and per-indicator recall, worst confusions."""
    from bot.understanding.evaluation import Outcome, format_report, load_examples, score

    _logging()
    examples = load_examples(file)

    async def run() -> list[Outcome]:
        async with _pipeline(start) as pipeline:
            outcomes = []
            for example in examples:
                result = await pipeline.parse(example.text)
                outcomes.append(
                    Outcome(
                        result.intent, result.urgent, result.lang, result.risk, result.indicators
                    )
                )
            return outcomes

    report = score(examples, asyncio.run(run()))
    typer.echo(
        json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_report(report)
    )
