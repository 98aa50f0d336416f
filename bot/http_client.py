"""Outbound HTTP clients: httpx's client over aiohttp's transport.

Why not httpx's own transport: profiled in a worker process under load (py-spy, GIL samples),
httpcore over anyio with h11's pure-Python parser was a third of the worker's CPU, about
3.7 ms for each of a turn's two requests (the NLU parse and the send). aiohttp parses HTTP in C;
`httpx-aiohttp` (by an httpx maintainer) plugs it in under httpx's API, so callers keep
httpx's client, timeouts, responses and exceptions.

That package maps aiohttp's usual errors to httpx's; anything it leaves unmapped is raised
here as an `httpx.TransportError` too, so `except httpx.HTTPError` still catches every network
failure (a send that escaped it would wait for its lease instead of being retried).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

_NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


def client(
    *,
    timeout: httpx.Timeout,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    limits: httpx.Limits | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An httpx client on aiohttp's transport (`transport`: another, for tests)."""
    limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return _Client(
        base_url=base_url,
        headers=headers,
        timeout=timeout,
        trust_env=False,
        transport=transport or _Transport(limits=limits, trust_env=False),
    )


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        pass

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        pass


_NO_COOKIES = _NoCookies()


class _Client(httpx.AsyncClient):
    """Keeps no cookies: the Graph API, Viber's API and the NLU server need none sent back,
    and reading every response's headers for them was 2% of a worker's CPU (py-spy)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass


class _Transport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except _NETWORK_ERRORS as exc:
            raise httpx.NetworkError(_describe(exc), request=request) from exc
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _Body(stream, request)
        return response


class _Body(httpx.AsyncByteStream):
    """The response body, its network errors raised as httpx's."""

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner, self._request = inner, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except _NETWORK_ERRORS as exc:
            raise httpx.NetworkError(_describe(exc), request=self._request) from exc

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except _NETWORK_ERRORS as exc:
            raise httpx.NetworkError(_describe(exc), request=self._request) from exc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
