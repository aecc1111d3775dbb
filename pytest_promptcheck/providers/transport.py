"""A lean HTTP/1.1 transport for httpx, for plain-http endpoints on the local network.

httpx's default pool (httpcore) spends milliseconds of CPU per request on bookkeeping that
grows with the number of connections; against a local server answering hundreds of
concurrent calls that CPU, not the server, sets the pace. This transport keeps a stack of
idle keep-alive connections, writes each request in one send and reads each response whole.
TLS, proxies and HTTP/2 stay with httpx's own transport.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def suits(url: str) -> bool:
    """Plain http and no proxy configured: the cases this transport handles the same as httpx."""
    return url.startswith("http://") and not any(os.environ.get(v) for v in _PROXY_VARIABLES)


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        origin = (request.url.host, request.url.port or 80)
        payload = _serialize(request)
        reused = self._take(origin)
        if reused is not None:
            try:
                return await self._exchange(request, origin, reused, payload, timeouts)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # the server closed the idle connection first: try once on a new one
        try:
            connection = await asyncio.wait_for(
                asyncio.open_connection(*origin), timeouts.get("connect")
            )
        except TimeoutError:
            raise httpx.ConnectTimeout("connect timed out", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from None
        try:
            return await self._exchange(request, origin, connection, payload, timeouts)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            raise httpx.RemoteProtocolError(
                f"server disconnected: {exc}", request=request
            ) from None

    async def _exchange(
        self,
        request: httpx.Request,
        origin: tuple[str, int],
        connection: _Connection,
        payload: bytes,
        timeouts: dict[str, Any],
    ) -> httpx.Response:
        reader, writer = connection
        writer.write(payload)
        try:
            status, headers, body, keep = await asyncio.wait_for(
                _read_response(reader), timeouts.get("read")
            )
        except TimeoutError:
            writer.close()
            raise httpx.ReadTimeout("read timed out", request=request) from None
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.setdefault(origin, []).append(connection)
        else:
            writer.close()
        return httpx.Response(status, headers=headers, content=body, request=request)

    def _take(self, origin: tuple[str, int]) -> _Connection | None:
        stack = self._idle.get(origin)
        while stack:
            connection = stack.pop()
            if not connection[0].at_eof():
                return connection
            connection[1].close()
        return None

    async def aclose(self) -> None:
        for stack in self._idle.values():
            for _, writer in stack:
                writer.close()
        self._idle.clear()


def _serialize(request: httpx.Request) -> bytes:
    body = request.read()
    target = request.url.raw_path.decode("ascii")
    lines = [f"{request.method} {target} HTTP/1.1".encode()]
    names = {name.lower() for name, _ in request.headers.raw}
    if b"host" not in names:
        lines.append(b"Host: " + request.url.netloc)
    lines += [name + b": " + value for name, value in request.headers.raw]
    if b"content-length" not in names and body:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def _read_response(
    reader: asyncio.StreamReader,
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    status_line = await reader.readuntil(b"\r\n")
    version, status = status_line.split(b" ", 2)[:2]
    headers: list[tuple[bytes, bytes]] = []
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.partition(b":")
        headers.append((name.strip(), value.strip()))
    fields = {name.lower(): value.lower() for name, value in headers}
    if fields.get(b"transfer-encoding", b"").endswith(b"chunked"):
        body = await _read_chunked(reader)
        headers = [(n, v) for n, v in headers if n.lower() != b"transfer-encoding"]
    elif b"content-length" in fields:
        body = await reader.readexactly(int(fields[b"content-length"]))
    else:
        return int(status), headers, await reader.read(), False
    keep = version == b"HTTP/1.1" and fields.get(b"connection") != b"close"
    return int(status), headers, body, keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16):
        chunks.append(await reader.readexactly(size))
        await reader.readuntil(b"\r\n")
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass  # trailer fields
    return b"".join(chunks)
