"""The benchmarks' lean sender must read what servers really answer, or it times nothing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fixtures.servers import serve

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from bench_http import Client


async def echo(request: Request) -> Response:
    return JSONResponse({"got": (await request.json()), "type": request.headers["content-type"]})


async def chunked(request: Request) -> Response:
    async def parts():  # type: ignore[no-untyped-def]
        for part in (b"[1,", b"2,", b"3]"):
            yield part

    return StreamingResponse(parts(), media_type="application/json")


async def refuse(request: Request) -> Response:
    return Response("no", status_code=403, headers={"connection": "close"})


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["POST"]),
        Route("/chunked", chunked, methods=["POST"]),
        Route("/refuse", refuse, methods=["POST"]),
    ]
)


def test_reads_bodies_by_length_and_by_chunks_on_kept_connections() -> None:
    async def run(url: str) -> list[object]:
        async with Client(url, connections=2) as client:
            answers = await asyncio.gather(
                *(client.post_json("/echo", {"n": i}) for i in range(6)),
                client.post("/chunked", b"{}"),
            )
            kept = len(client._idle)
        return [*(a.json() for a in answers), kept, {a.status for a in answers}]

    with serve(APP) as url:
        *bodies, kept, statuses = asyncio.run(run(url))
    assert bodies[:6] == [{"got": {"n": i}, "type": "application/json"} for i in range(6)]
    assert bodies[6] == [1, 2, 3]
    assert kept == 2  # at most two connections, both kept for the next request
    assert statuses == {200}


def test_a_closed_connection_is_replaced_and_a_dead_server_is_status_0() -> None:
    async def run(url: str) -> tuple[int, int, int]:
        async with Client(url) as client:
            refused = await client.post("/refuse", b"")
            after = await client.post_json("/echo", {})
            return refused.status, after.status, len(client._idle)

    with serve(APP) as url:
        assert asyncio.run(run(url)) == (403, 200, 1)

    async def gone() -> int:
        async with Client(url) as client:
            return (await client.post("/echo", b"{}")).status

    assert asyncio.run(gone()) == 0
