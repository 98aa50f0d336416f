"""Mapping Rasa's /model/parse answer to a Classification."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.understanding.rasa_client import NluUnavailable, RasaClient, to_classification
from bot.vocabulary import Indicator


def test_rasa_answer_is_mapped_with_canonical_entities() -> None:
    result = to_classification(
        {
            "intent": {"name": "check_recruiter", "confidence": 0.93},
            "intent_ranking": [
                {"name": "check_recruiter", "confidence": 0.93},
                {"name": "legacy_intent", "confidence": 0.05},
                {"name": "info_fees", "confidence": 0.02},
            ],
            "entities": [
                {"entity": "country", "value": "MY", "start": 3, "end": 11},
                {"entity": "country", "value": "Narnia", "start": 0, "end": 6},
                {"entity": "licence_number", "value": "rl 1234", "start": 12, "end": 19},
                {"entity": "licence_number", "value": "RL-1234", "start": 30, "end": 37},
                {"entity": "time", "value": "2024"},
            ],
        }
    )
    assert result.intent == "check_recruiter"
    assert result.confidence == pytest.approx(0.93)
    assert result.ranking == (("check_recruiter", 0.93), ("info_fees", 0.02))
    assert [(e.entity, e.value, e.start) for e in result.entities] == [
        ("country", "MY", 3),
        ("licence_number", "RL-1234", 12),
    ]


def test_unknown_intent_becomes_out_of_scope() -> None:
    result = to_classification({"intent": {"name": "nlu_fallback", "confidence": 0.3}})
    assert result.intent == "out_of_scope"


def test_malformed_answer_is_unavailable() -> None:
    with pytest.raises(NluUnavailable):
        to_classification({"text": "hi"})


async def test_client_sends_the_token_and_maps_errors() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if b"boom" in request.content:
            return httpx.Response(500)
        return httpx.Response(200, json={"intent": {"name": "greet", "confidence": 0.9}})

    client = RasaClient("http://nlu", "s3cret", 1.0, transport=httpx.MockTransport(handler))
    try:
        assert (await client.classify("hi")).intent == "greet"
        assert seen[0].url.params["token"] == "s3cret"
        assert seen[0].url.path == "/model/parse"
        with pytest.raises(NluUnavailable):
            await client.classify("boom")
    finally:
        await client.aclose()


def test_labels_carry_indicators_and_an_intent_scores_the_sum_of_its_labels() -> None:
    result = to_classification(
        {
            "intent": {"name": "info_fees+debt_bondage+wage_withholding", "confidence": 0.8},
            "intent_ranking": [
                {"name": "info_fees+debt_bondage+wage_withholding", "confidence": 0.8},
                {"name": "info_fees", "confidence": 0.1},
                {"name": "urgent_help+violence", "confidence": 0.06},
                {"name": "urgent_help", "confidence": 0.04},
            ],
        }
    )
    assert (result.intent, result.indicators) == (
        "info_fees",
        (Indicator.DEBT_BONDAGE, Indicator.WAGE_WITHHOLDING),
    )
    assert result.ranking == (("info_fees", pytest.approx(0.9)), ("urgent_help", 0.1))
    # The best label decides the intent and its indicators; how sure the model is that the
    # person asks about fees is the sum over the fee labels (here above the 0.6 to act on).
    split = to_classification(
        {
            "intent": {"name": "info_fees", "confidence": 0.48},
            "intent_ranking": [
                {"name": "info_fees", "confidence": 0.48},
                {"name": "urgent_help+minor", "confidence": 0.14},
                {"name": "info_fees+debt_bondage", "confidence": 0.13},
            ],
        }
    )
    assert (split.intent, split.indicators) == ("info_fees", ())
    assert split.confidence == pytest.approx(0.61)
    unknown = to_classification({"intent": {"name": "info_fees+made_up", "confidence": 0.5}})
    assert (unknown.intent, unknown.indicators) == ("info_fees", ())


async def test_parses_in_flight_are_bounded_and_the_others_wait_for_a_slot() -> None:
    """More parses than slots: at most `concurrency` reach the server at once; the rest wait
    (a busy server is not a failing one) and every message gets the NLU's reading."""
    in_flight, most = 0, 0
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(200, json={"intent": {"name": "greet", "confidence": 0.9}})

    client = RasaClient(
        "http://nlu", timeout=5.0, transport=httpx.MockTransport(handler), concurrency=3
    )
    try:
        parses = [asyncio.create_task(client.classify(f"hi {i}")) for i in range(7)]
        while in_flight < 3:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert in_flight == 3  # the other four wait for a slot
        release.set()
        results = await asyncio.gather(*parses)
        assert [r.intent for r in results] == ["greet"] * 7 and most == 3
    finally:
        await client.aclose()


async def test_while_the_server_fails_a_parse_without_a_free_slot_does_not_queue() -> None:
    stuck = asyncio.Event()
    calls: list[str] = []

    async def hangs(request: httpx.Request) -> httpx.Response:
        calls.append(request.content.decode())
        await stuck.wait()
        return httpx.Response(200, json={})

    client = RasaClient(
        "http://nlu", timeout=0.2, transport=httpx.MockTransport(hangs), concurrency=1
    )
    try:
        with pytest.raises(NluUnavailable, match="Timeout"):
            await client.classify("one")  # the server hangs: the request times out
        holding = asyncio.create_task(client.classify("two"))
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(NluUnavailable, match="failing"):
            await client.classify("three")  # no slot, and the server is failing: keywords now
        with pytest.raises(NluUnavailable):
            await holding
        assert len(calls) == 2  # "three" never reached the server
    finally:
        stuck.set()
        await client.aclose()
