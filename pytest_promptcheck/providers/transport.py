"""A lean HTTP/1.1 transport for httpx2, for plain-http endpoints on the local network.

httpx2's default pool (httpcore2) spends CPU per request on bookkeeping that grows with the
number of connections; against a local server answering hundreds of concurrent calls that CPU,
not the server, sets the pace (benchmarks/README.md: 10,000 calls at concurrency 50 take
about 4x as long). This transport keeps a stack of idle keep-alive connections and writes each
request in one send. The bytes on the wire are framed and parsed by h11, the maintained
HTTP/1.1 state machine httpcore2 itself uses, so a malformed response is h11's
RemoteProtocolError, never a parser of ours. Bodies are streamed to the caller, which caps them.
TLS, proxies and HTTP/2 stay with httpx2's own transport.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import h11
import httpx2

_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_READ_SIZE = 65536
_MAX_HEAD_BYTES = 64 * 1024
"""A status line and headers larger than this are a protocol error (h11's own limit is 16 KB)."""

Origin = tuple[str, int]


def suits(url: str) -> bool:
    """Plain http and no proxy configured: the cases this transport handles the same as httpx2."""
    return url.startswith("http://") and not any(os.environ.get(v) for v in _PROXY_VARIABLES)


class _Stale(Exception):
    """A reused keep-alive connection that the server had closed before it answered."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD_BYTES)
        self.received = 0  # bytes of the current response so far

    async def next_event(self, read_timeout: float | None) -> Any:
        """The next h11 event, reading from the socket as needed (EOF is b"" to h11).

        A connection that ends before the first byte of a response raises _Stale."""
        while (event := self.h11.next_event()) is h11.NEED_DATA:
            try:
                async with asyncio.timeout(read_timeout):
                    data = await self.reader.read(_READ_SIZE)
            except ConnectionError:
                if self.received:
                    raise
                data = b""
            if not data and not self.received:
                raise _Stale()
            self.received += len(data)
            self.h11.receive_data(data)
        return event

    def reusable(self) -> bool:
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def close(self) -> None:
        self.writer.close()


class _Body(httpx2.AsyncByteStream):
    """The response body as h11 delivers it; the connection goes back to the pool at its end."""

    def __init__(
        self,
        transport: LeanTransport,
        origin: Origin,
        connection: _Connection,
        read_timeout: float | None,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._connection = connection
        self._read_timeout = read_timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async with _mapped_errors():
            while not isinstance(
                event := await self._connection.next_event(self._read_timeout), h11.EndOfMessage
            ):
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
        self._done = True

    async def aclose(self) -> None:
        connection = self._connection
        if self._done and connection.reusable():
            connection.h11.start_next_cycle()
            self._transport.release(self._origin, connection)
        else:
            connection.close()  # cut short (a cap, a deadline, an error): never reused


class LeanTransport(httpx2.AsyncBaseTransport):
    def __init__(self) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = request.extensions.get("timeout", {})
        origin = (request.url.host, request.url.port or 80)
        await request.aread()
        reused = self._take(origin)
        if reused is not None:
            try:
                return await self._exchange(request, origin, reused, timeouts)
            except _Stale:
                pass  # the server closed the idle connection first: try once on a new one
        connection = await self._connect(request, origin, timeouts.get("connect"))
        try:
            return await self._exchange(request, origin, connection, timeouts)
        except _Stale:
            raise httpx2.RemoteProtocolError(
                "server disconnected without sending a response", request=request
            ) from None

    async def _connect(
        self, request: httpx2.Request, origin: Origin, timeout: float | None
    ) -> _Connection:
        try:
            async with asyncio.timeout(timeout):
                return _Connection(*await asyncio.open_connection(*origin))
        except TimeoutError:
            raise httpx2.ConnectTimeout("connect timed out", request=request) from None
        except OSError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from None

    async def _exchange(
        self,
        request: httpx2.Request,
        origin: Origin,
        connection: _Connection,
        timeouts: dict[str, Any],
    ) -> httpx2.Response:
        try:
            async with _mapped_errors(request):
                connection.received = 0
                connection.writer.write(_serialize(connection.h11, request))
                event = await connection.next_event(timeouts.get("read"))
                while isinstance(event, h11.InformationalResponse):  # 100 Continue and kin
                    event = await connection.next_event(timeouts.get("read"))
        except BaseException:
            connection.close()
            raise
        body = _Body(self, origin, connection, timeouts.get("read"))
        return httpx2.Response(
            event.status_code, headers=event.headers.raw_items(), stream=body, request=request
        )

    def _take(self, origin: Origin) -> _Connection | None:
        stack = self._idle.get(origin)
        while stack:
            connection = stack.pop()
            if not connection.reader.at_eof():
                return connection
            connection.close()
        return None

    def release(self, origin: Origin, connection: _Connection) -> None:
        self._idle.setdefault(origin, []).append(connection)

    async def aclose(self) -> None:
        for stack in self._idle.values():
            for connection in stack:
                connection.close()
        self._idle.clear()


def _serialize(connection: h11.Connection, request: httpx2.Request) -> bytes:
    """The whole request (head and body) in one buffer, framed by h11."""
    headers = list(request.headers.raw)
    if not any(name.lower() == b"host" for name, _ in headers):
        headers.insert(0, (b"Host", request.url.netloc))
    if request.content and not any(n.lower() == b"content-length" for n, _ in headers):
        headers.append((b"Content-Length", str(len(request.content)).encode()))
    parts = [
        connection.send(
            h11.Request(method=request.method, target=request.url.raw_path, headers=headers)
        ),
        connection.send(h11.Data(data=request.content)) if request.content else b"",
        connection.send(h11.EndOfMessage()),
    ]
    return b"".join(part or b"" for part in parts)


@asynccontextmanager
async def _mapped_errors(request: httpx2.Request | None = None) -> AsyncIterator[None]:
    """h11's and the socket's errors as httpx2's, so callers handle one family."""
    try:
        yield
    except h11.RemoteProtocolError as exc:
        raise httpx2.RemoteProtocolError(f"malformed response: {exc}", request=request) from None
    except TimeoutError:
        raise httpx2.ReadTimeout("read timed out", request=request) from None
    except OSError as exc:
        raise httpx2.ReadError(f"connection broken: {exc}", request=request) from None
