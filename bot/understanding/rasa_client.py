"""The bot's client for the Rasa NLU server (`POST /model/parse`).

The bot never imports rasa: it talks to `rasa run --enable-api` over HTTP with a hard timeout,
and any failure (refused, slow, 5xx, malformed answer) surfaces as `NluUnavailable` so the
pipeline can fall back to the keyword router.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bot import http_client
from bot.understanding.base import INTENTS, Classification, Entity
from bot.understanding.entities import canonical_country, canonical_licence
from bot.understanding.risk import split_label


class NluUnavailable(Exception):
    """The NLU server did not give a usable answer in time."""


def _ranking(raw: list[dict[str, Any]]) -> tuple[tuple[str, float], ...]:
    """Rasa's ranking by contract intent: the sum of each intent's labels' scores.

    `info_fees` and `info_fees+debt_bondage` are both the question about fees: the model's
    belief that the person asks about fees is their sum, not the larger part.
    """
    total: dict[str, float] = {}
    for entry in raw:
        intent, _ = split_label(str(entry.get("name", "")))
        if intent in INTENTS:
            total[intent] = total.get(intent, 0.0) + float(entry["confidence"])
    return tuple(sorted(((i, min(1.0, c)) for i, c in total.items()), key=lambda item: -item[1]))


def to_classification(payload: dict[str, Any]) -> Classification:
    """Rasa's parse result as a `Classification`; unknown intents become out_of_scope.

    Labels `<intent>+<indicator>...` carry the distress indicators the model saw."""
    try:
        intent = payload["intent"]
        label, confidence = str(intent.get("name")), float(intent.get("confidence") or 0.0)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise NluUnavailable(f"unexpected answer from the NLU server: {exc!r}") from exc
    name, indicators = split_label(label)
    if name not in INTENTS:
        name, indicators = "out_of_scope", ()
    ranking = _ranking(payload.get("intent_ranking") or [])
    # The best label decides the intent and its indicators; its intent's confidence is the
    # sum over that intent's labels (never lower than the label's own).
    confidence = max(confidence, dict(ranking).get(name, 0.0))
    entities: list[Entity] = []
    seen: set[tuple[str, str]] = set()
    for raw in payload.get("entities") or ():
        kind, value = raw.get("entity"), str(raw.get("value", ""))
        if kind == "country":
            canonical = canonical_country(value)
        elif kind == "licence_number":
            canonical = canonical_licence(value)
        else:
            continue
        if canonical is None or (kind, canonical) in seen:
            continue
        seen.add((kind, canonical))
        entities.append(Entity(kind, canonical, raw.get("start"), raw.get("end")))
    return Classification(name, confidence, tuple(entities), ranking, indicators)


class RasaClient:
    """One HTTP client for the process, its connections kept alive between parses.

    At most `concurrency` parses are in flight: enough to keep a Rasa server busy (it parses
    one message at a time, so more would only queue there). Others wait for a slot: a busy
    server is not a failing one, and a message must not lose its NLU reading to a queue. The
    timeout bounds each request once sent; while requests are failing (a server down or
    hanging), a parse that finds no free slot is answered from keywords at once, and no parse
    waits for a slot longer than `queue_seconds`.
    """

    def __init__(
        self,
        url: str,
        token: str = "",
        timeout: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 8,
        queue_seconds: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.queue_seconds = max(queue_seconds, timeout)
        self._params = {"token": token} if token else {}
        # Parsed once: httpx parsing it on every request was a quarter of the request's CPU.
        self._parse_url = httpx.URL(f"{self.url}/model/parse", params=self._params)
        self._slots = asyncio.Semaphore(concurrency)
        self._failing = False
        self._http = http_client.client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    async def classify(self, text: str) -> Classification:
        if self._failing and self._slots.locked():
            raise NluUnavailable("the NLU server is failing and every connection is in use")
        try:
            async with asyncio.timeout(self.queue_seconds):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise NluUnavailable("every NLU connection stayed busy") from exc
        try:
            # httpx times each phase; the overall deadline also bounds a server that drips.
            async with asyncio.timeout(self.timeout):
                response = await self._http.post(self._parse_url, json={"text": text})
            response.raise_for_status()
            payload = response.json()
        except (httpx.HTTPError, ValueError, TimeoutError) as exc:
            self._failing = True
            raise NluUnavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._slots.release()
        self._failing = False
        return to_classification(payload)

    async def ready(self) -> bool:
        """Whether the server answers `/status` with a loaded model."""
        try:
            response = await self._http.get(f"{self.url}/status", params=self._params)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    async def aclose(self) -> None:
        await self._http.aclose()
