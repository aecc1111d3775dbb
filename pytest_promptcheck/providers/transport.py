"""A lean HTTP/1.1 client for plain-http endpoints on the local network.

httpx2's default pool (httpcore2) spends CPU per request on bookkeeping that grows with the
number of connections, and its client layers (request and response models, URL merging, auth
and redirect flows) about as much again; against a local server answering hundreds of
concurrent calls that CPU, not the server, sets the pace (benchmarks/README.md). The plugin only
POSTs a JSON body with a few headers, so for plain http:// without a proxy it uses this pool: a
stack of idle keep-alive connections per origin, each request written in one send. The bytes
on the wire are framed and parsed by h11, the maintained HTTP/1.1 state machine httpcore2
itself uses, so a malformed response is h11's RemoteProtocolError, never a parser of ours.
Errors are httpx2's exception types, so callers handle one family. Bodies are streamed to the
caller, which caps them. TLS, proxies and HTTP/2 stay with httpx2.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx2

_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_READ_SIZE = 65536
_MAX_ENCODINGS = 5
"""Content-Encoding values a response may chain (urllib3 allows as many)."""
_KEPT_HEADS = 1024
"""Request heads kept for reuse (by target, headers and body length)."""
_MAX_HEAD_BYTES = 64 * 1024
"""A status line and headers larger than this are a protocol error (h11's own limit is 16 KB)."""

Origin = tuple[str, int]
Headers = Callable[[], list[tuple[bytes, bytes]]]
"""The request's headers, asked for as the request is framed (they may carry the key: no
frame's locals keep it longer than that; a kept head holds it in this process's memory, as the
environment it came from does)."""


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

    async def next_event(self) -> Any:
        """The next h11 event, reading from the socket as needed (EOF is b"" to h11).

        A connection that ends before the first byte of a response raises _Stale."""
        while (event := self.h11.next_event()) is h11.NEED_DATA:
            try:
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


@dataclass(frozen=True)
class Target:
    """Where a POST goes: the origin to connect to, the Host header and the request target."""

    origin: Origin
    host: bytes
    path: bytes

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host = parts.netloc.rpartition("@")[2]  # never user:password in a Host header
        return cls((parts.hostname or "", parts.port or 80), host.encode(), path.encode())


class Answer:
    """A response head, and its body as h11 delivers it; its connection goes back to the pool
    when the body was read to its end, and is closed otherwise (a cap, a deadline, an error)."""

    def __init__(
        self,
        pool: LeanPool,
        origin: Origin,
        connection: _Connection,
        head: h11.Response,
    ) -> None:
        self.status_code = head.status_code
        self.headers = httpx2.Headers(head.headers.raw_items())
        self._pool = pool
        self._origin = origin
        self._connection = connection
        self._done = False

    async def read(self, limit: int) -> bytes | None:
        """The body as a ``Body`` reads it, or None once it grows past ``limit``."""
        body = Body(self.headers.get("content-encoding", ""), limit)
        with _mapped_errors:
            while True:
                event = await self._connection.next_event()
                final = isinstance(event, h11.EndOfMessage)
                data = bytes(event.data) if isinstance(event, h11.Data) else b""
                if not body.add(data, final=final):
                    return None
                if final:
                    break
        self._done = True
        return body.whole()

    def close(self) -> None:
        connection = self._connection
        if self._done and connection.reusable():
            connection.h11.start_next_cycle()
            self._pool.release(self._origin, connection)
        else:
            connection.close()


class LeanPool:
    """Keep-alive HTTP/1.1 connections by origin, for POSTs of a whole body."""

    def __init__(self) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}
        self._heads: dict[tuple[Target, tuple[tuple[bytes, bytes], ...], int], h11.Request] = {}

    @asynccontextmanager
    async def post(self, target: Target, headers: Headers, body: bytes) -> AsyncIterator[Answer]:
        """The answer to one POST. The pool sets no timeouts of its own: the caller bounds the
        whole exchange, connect and body included (JsonClient's deadline), and a cancelled
        exchange closes its connection."""
        answer = await self._send(target, headers, body)
        try:
            yield answer
        finally:
            answer.close()

    async def _send(self, target: Target, headers: Headers, body: bytes) -> Answer:
        reused = self._take(target.origin)
        if reused is not None:
            try:
                return await self._exchange(target, headers, body, reused)
            except _Stale:
                pass  # the server closed the idle connection first: try once on a new one
        connection = await self._connect(target.origin)
        try:
            return await self._exchange(target, headers, body, connection)
        except _Stale:
            raise httpx2.RemoteProtocolError(
                "server disconnected without sending a response"
            ) from None

    async def _connect(self, origin: Origin) -> _Connection:
        try:
            return _Connection(*await asyncio.open_connection(*origin))
        except OSError as exc:
            raise httpx2.ConnectError(str(exc)) from None

    async def _exchange(
        self,
        target: Target,
        headers: Headers,
        body: bytes,
        connection: _Connection,
    ) -> Answer:
        try:
            with _mapped_errors:
                connection.received = 0
                head = self._head(target, headers(), len(body))
                connection.writer.write(_serialize(connection.h11, head, body))
                event = await connection.next_event()
                while isinstance(event, h11.InformationalResponse):  # 100 Continue and kin
                    event = await connection.next_event()
        except BaseException:
            connection.close()
            raise
        return Answer(self, target.origin, connection, event)

    def _head(self, target: Target, headers: list[tuple[bytes, bytes]], length: int) -> h11.Request:
        """The request's head, checked by h11, which refuses a header that would break the
        framing (a key holding a newline, say). Heads are kept by target, headers and body
        length: checking one costs about 12 us, as much as framing the request. Requests share
        a head when their bodies have one length (the samples of a case, prompts that differ
        only a little); a suite whose every body differs pays the check on each, as it would
        without the kept heads."""
        key = (target, tuple(headers), length)
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) >= _KEPT_HEADS:
                self._heads.clear()
            fields = [(b"Host", target.host), *headers, (b"Content-Length", str(length).encode())]
            head = self._heads[key] = h11.Request(
                method=b"POST", target=target.path, headers=fields
            )
        return head

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

    def close(self) -> None:
        for stack in self._idle.values():
            for connection in stack:
                connection.close()
        self._idle.clear()


class Body:
    """A response body read piece by piece, decoded as its Content-Encoding says (gzip,
    deflate), within ``limit`` bytes decoded and as sent: decoding goes in pieces of at most
    _READ_SIZE, so a small compressed body is refused before it has expanded, and bytes after
    a compressed stream's end, which decode to nothing, still count. The lean pool and the
    httpx2 path (its raw bytes) both read through it."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._decoders = _decoders(encoding)
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = self._sent = 0

    def add(self, data: bytes, *, final: bool = False) -> bool:
        """False once the body is past the limit."""
        self._sent += len(data)
        if self._sent > self._limit:
            return False
        for piece in _decoded(data, self._decoders, final=final):
            self._size += len(piece)
            if self._size > self._limit:
                return False
            self._parts.append(piece)
        return True

    def whole(self) -> bytes:
        return b"".join(self._parts)


def _decoders(encoding: str) -> list[Any]:
    """zlib decompressors for a Content-Encoding list, outermost first; encodings other than
    gzip and deflate are passed through (as httpx2 does), and the body then fails as JSON.
    A server may list at most _MAX_ENCODINGS: each decompressor holds a window of its own."""
    if not encoding:
        return []
    makers = {"gzip": _gzip, "x-gzip": _gzip, "deflate": _Deflate}
    names = [name.strip().lower() for name in encoding.split(",")]
    if len(names) > _MAX_ENCODINGS:
        raise httpx2.DecodingError(f"{len(names)} content encodings, more than {_MAX_ENCODINGS}")
    return [makers[name]() for name in reversed(names) if name in makers]


def _gzip() -> Any:
    return zlib.decompressobj(zlib.MAX_WBITS | 16)


class _Deflate:
    """ "deflate" as servers send it: zlib-wrapped as the standard says, or raw, which httpx2
    accepts too (told apart by the first bytes)."""

    def __init__(self) -> None:
        self._zlib: Any = zlib.decompressobj()
        self._started = False

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if not self._started and data:
            self._started = True
            try:
                return bytes(self._zlib.decompress(data, max_length))
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._zlib.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._zlib.unconsumed_tail)

    @property
    def eof(self) -> bool:
        return bool(self._zlib.eof)

    def flush(self) -> bytes:
        return bytes(self._zlib.flush())


def _decoded(data: bytes, decoders: list[Any], final: bool = False) -> Iterator[bytes]:
    """``data`` through every decoder in turn, each step bounded to _READ_SIZE of output.
    Bytes after the end of a compressed stream are dropped, as httpx2 does (zlib would keep
    them all, and copy them again for every later piece)."""
    if not decoders:
        if data:
            yield data
        return
    first, rest = decoders[0], decoders[1:]
    try:
        if not first.eof:
            out = first.decompress(data, _READ_SIZE)
            while out or first.unconsumed_tail:
                yield from _decoded(out, rest)
                out = first.decompress(first.unconsumed_tail, _READ_SIZE)
        if final:
            yield from _decoded(first.flush(), rest, final=True)
    except zlib.error as exc:
        raise httpx2.DecodingError(
            f"the body cannot be decoded as its Content-Encoding says ({exc})"
        ) from None


def _serialize(connection: h11.Connection, head: h11.Request, body: bytes) -> bytes:
    """The whole request (head and body) in one buffer, framed by h11."""
    parts = [
        connection.send(head),
        connection.send(h11.Data(data=body)) if body else b"",
        connection.send(h11.EndOfMessage()),
    ]
    return b"".join(part or b"" for part in parts)


class _MappedErrors:
    """h11's and the socket's errors as httpx2's, so callers handle one family (a plain
    context manager: it wraps every exchange, and an async generator's costs more)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if isinstance(exc, h11.RemoteProtocolError):
            raise httpx2.RemoteProtocolError(f"malformed response: {exc}") from None
        if isinstance(exc, h11.LocalProtocolError):
            raise httpx2.LocalProtocolError(f"the request cannot be sent: {exc}") from None
        if isinstance(exc, OSError):
            raise httpx2.ReadError(f"connection broken: {exc}") from None


_mapped_errors = _MappedErrors()
