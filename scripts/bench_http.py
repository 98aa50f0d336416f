"""A lean HTTP/1.1 client for the benchmarks' load: keep-alive connections over asyncio streams.

Why not httpx here (the bot itself uses httpx for every outbound call): measured on the 2-core
machine, an httpx sender spent 3.7 ms of CPU on each webhook it posted, five times what the
web process spent acknowledging it (0.74 ms), so the sender, not the web, set the pace: 230
acks/s with acks timed at p99 427 ms. With this client the sender costs 0.07 ms a request and
the same web process acknowledges 1100 a second (p99 32 ms at 20 in flight). Meta's and Viber's
servers don't take their CPU from ours; the benchmarks' sender shouldn't either. The Rasa rows
use the same client, so all three rows are measured alike.

Only what the benchmarks send and get back: POST with a body, responses with Content-Length
or chunked bodies, one request at a time per connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = 60.0


@dataclass(frozen=True)
class Response:
    status: int  # 0 when the request failed (connection refused, reset, timed out)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[Response, bool]:
        """Send one request, read its response; whether the connection can be used again."""
        self.writer.write(request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        status = int(head[9:12])
        if b"transfer-encoding: chunked" in head:
            body = await self._chunked()
        else:
            length = _header(head, b"content-length")
            body = await self.reader.readexactly(int(length)) if length else b""
        return Response(status, body), _header(head, b"connection") != b"close"

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


def _header(head: bytes, name: bytes) -> bytes | None:
    start = head.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    return head[start : head.index(b"\r\n", start)].strip()


class Client:
    """Keep-alive connections to one server, at most `connections` open (None: no limit)."""

    def __init__(self, url: str, connections: int | None = None) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._idle: list[_Connection] = []
        self._gate = asyncio.Semaphore(connections) if connections else None

    async def post(
        self, path: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Response:
        lines = [f"POST {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines.append(f"content-length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        if self._gate is None:
            return await self._send(request)
        async with self._gate:
            return await self._send(request)

    async def post_json(self, path: str, data: Any) -> Response:
        body = json.dumps(data).encode()
        return await self.post(path, body, {"content-type": "application/json"})

    async def _send(self, request: bytes) -> Response:
        # A kept connection the server closed while idle fails at once: one retry on a new one.
        for reused in (bool(self._idle), False):
            connection = self._idle.pop() if reused else await self._connect()
            if connection is None:
                return Response(0)
            try:
                response, keep = await asyncio.wait_for(connection.exchange(request), TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                connection.close()
                if reused:
                    continue
                return Response(0)
            except TimeoutError:
                connection.close()
                return Response(0)
            if keep:
                self._idle.append(connection)
            else:
                connection.close()
            return response
        return Response(0)

    async def _connect(self) -> _Connection | None:
        try:
            return _Connection(*await asyncio.open_connection(self.host, self.port))
        except OSError:
            return None

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
