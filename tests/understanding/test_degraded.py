"""Degraded mode: with the NLU server down or slow, keywords answer, on time, never raising."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.understanding.base import Parse
from bot.understanding.nlu_env import free_port
from bot.understanding.pipeline import NluPipeline
from bot.understanding.rasa_client import RasaClient
from tests.fixtures.servers import serve

TIMEOUT = 1.0
MESSAGES = ["menu", "ကယ်ပါ", "លេខទូរស័ព្ទជំនួយ", "বাংলায় বলুন", "my boss took my passport"]
EXPECTED = ["menu", "urgent_help", "find_hotline", "choose_language", "urgent_help"]


def slow_rasa(delay: float) -> Starlette:
    async def parse(request: Request) -> JSONResponse:
        await asyncio.sleep(delay)
        return JSONResponse({"intent": {"name": "greet", "confidence": 0.99}})

    return Starlette(routes=[Route("/model/parse", parse, methods=["POST"])])


@pytest.fixture
def slow_server() -> Iterator[str]:
    with serve(slow_rasa(3.0)) as url:
        yield url


async def parse_all(pipeline: NluPipeline) -> tuple[list[Parse], float]:
    worst = 0.0
    results = []
    for text in MESSAGES:
        started = time.monotonic()
        results.append(await pipeline.parse(text))
        worst = max(worst, time.monotonic() - started)
    return results, worst


async def test_nlu_down_keywords_answer_at_once(caplog: pytest.LogCaptureFixture) -> None:
    pipeline = NluPipeline(RasaClient(f"http://127.0.0.1:{free_port()}", timeout=TIMEOUT))
    try:
        with caplog.at_level(logging.WARNING, logger="bot.understanding.pipeline"):
            results, worst = await parse_all(pipeline)
    finally:
        await pipeline.aclose()
    assert [r.intent for r in results] == EXPECTED
    assert {r.source for r in results} == {"keywords"}
    assert [r.urgent for r in results] == [False, True, False, False, True]
    assert worst < TIMEOUT
    # One warning for the outage, not one per message.
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1


async def test_nlu_slow_gives_up_after_the_timeout(slow_server: str) -> None:
    pipeline = NluPipeline(RasaClient(slow_server, timeout=TIMEOUT))
    try:
        results, worst = await parse_all(pipeline)
    finally:
        await pipeline.aclose()
    assert [r.intent for r in results] == EXPECTED
    assert {r.source for r in results} == {"keywords"}
    assert TIMEOUT * 0.9 < worst < TIMEOUT + 0.5


async def test_recovery_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with serve(slow_rasa(0.0)) as url:
        port = int(url.rsplit(":", 1)[1])
        pipeline = NluPipeline(RasaClient(url, timeout=TIMEOUT))
        try:
            assert (await pipeline.parse("hello")).source == "rasa"
        finally:
            await pipeline.aclose()
    pipeline = NluPipeline(RasaClient(f"http://127.0.0.1:{port}", timeout=TIMEOUT))
    try:
        with caplog.at_level(logging.INFO, logger="bot.understanding.pipeline"):
            assert (await pipeline.parse("hello")).source == "keywords"
            assert (await pipeline.parse("hello")).source == "keywords"
            with serve(slow_rasa(0.0), port=port):
                assert (await pipeline.parse("hello")).source == "rasa"
    finally:
        await pipeline.aclose()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("back" in m for m in messages) == 1


async def test_safety_net_overrides_a_calm_classifier() -> None:
    with serve(slow_rasa(0.0)) as url:
        pipeline = NluPipeline(RasaClient(url, timeout=TIMEOUT))
        try:
            calm = await pipeline.parse("hello")
            urgent = await pipeline.parse("hello, they locked me in the room")
        finally:
            await pipeline.aclose()
    assert (calm.intent, calm.urgent, calm.source) == ("greet", False, "rasa")
    assert (urgent.intent, urgent.urgent, urgent.source) == ("urgent_help", True, "rasa")
    assert urgent.ranking[0][0] == "greet"  # the classifier's reading is kept


async def test_empty_message_is_answered() -> None:
    pipeline = NluPipeline(None)
    result = await pipeline.parse(" \u200b ")
    assert (result.intent, result.normalized, result.lang) == ("out_of_scope", "", None)
