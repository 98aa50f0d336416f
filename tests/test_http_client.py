"""The outbound client: httpx's API over aiohttp, every network failure an httpx error."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import http_client
from tests.fixtures.servers import free_port, serve


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "query": dict(request.query_params),
            "auth": request.headers.get("x-token"),
            "body": await request.json(),
        }
    )


def _client(base_url: str, timeout: float = 2.0) -> httpx.AsyncClient:
    return http_client.client(
        base_url=base_url, headers={"x-token": "t"}, timeout=httpx.Timeout(timeout)
    )


def test_a_request_goes_out_and_comes_back_as_httpx_sends_it() -> None:
    async def run(url: str) -> httpx.Response:
        async with _client(url) as client:
            return await client.post("/echo", params={"access_token": "a"}, json={"n": 1})

    with serve(Starlette(routes=[Route("/echo", echo, methods=["POST"])])) as url:
        response = asyncio.run(run(url))
    assert response.status_code == 200
    assert response.json() == {"query": {"access_token": "a"}, "auth": "t", "body": {"n": 1}}


async def cookie_setter(request: Request) -> JSONResponse:
    response = JSONResponse({"cookie": request.headers.get("cookie")})
    response.set_cookie("lb", "sticky")
    return response


def test_cookies_a_server_sets_are_not_sent_back() -> None:
    async def run(url: str) -> list[object]:
        async with _client(url) as client:
            return [(await client.get("/c")).json()["cookie"] for _ in range(2)]

    with serve(Starlette(routes=[Route("/c", cookie_setter)])) as url:
        assert asyncio.run(run(url)) == [None, None]


def _raw_server(behaviour: str) -> tuple[socket.socket, int]:
    """A TCP server that accepts and then hangs up at once, or after half a response."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def run() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        if behaviour == "half":
            conn.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial')
        conn.close()

    threading.Thread(target=run, daemon=True).start()
    return listener, listener.getsockname()[1]


@pytest.mark.parametrize("behaviour", ["hang up", "half"])
def test_a_connection_cut_is_an_httpx_error(behaviour: str) -> None:
    listener, port = _raw_server(behaviour)

    async def run() -> None:
        async with _client(f"http://127.0.0.1:{port}") as client:
            await client.post("/x", json={})

    with pytest.raises(httpx.HTTPError):
        asyncio.run(run())
    listener.close()


def test_nobody_listening_is_an_httpx_error() -> None:
    async def run() -> None:
        async with _client(f"http://127.0.0.1:{free_port()}") as client:
            await client.post("/x", json={})

    with pytest.raises(httpx.HTTPError):
        asyncio.run(run())


def test_a_server_that_never_answers_times_out_as_httpx_does() -> None:
    async def hangs(request: Request) -> JSONResponse:
        await asyncio.sleep(3)
        return JSONResponse({})

    async def run(url: str) -> None:
        async with _client(url, timeout=0.5) as client:
            await client.post("/hang", json={})

    with serve(Starlette(routes=[Route("/hang", hangs, methods=["POST"])])) as url:
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            asyncio.run(run(url))
        assert time.monotonic() - started < 5
