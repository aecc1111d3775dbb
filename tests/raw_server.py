"""A raw-socket HTTP server for tests: every request gets the same scripted bytes.

For what a well-behaved server never sends: malformed status lines, garbage headers, bad chunk
sizes, truncated bodies, a body trickled byte by byte, a connection closed mid-body, binary
junk. Real sockets on 127.0.0.1, one thread per connection, one request per connection,
standard library only.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Self

__all__ = ["RawServer", "Script", "response"]

_FILL = b"x" * 65536


@dataclass(frozen=True)
class Script:
    """What the server writes: ``data`` at once, ``filler`` bytes of "x", then ``trickled``
    one byte every ``trickle_s`` seconds; then it closes the connection (or, with
    ``keep_open``, holds it until the server stops)."""

    data: bytes
    filler: int = 0
    trickled: bytes = b""
    trickle_s: float = 0.0
    keep_open: bool = False


def response(
    body: bytes = b"", *, status: bytes = b"HTTP/1.1 200 OK", headers: bytes | None = None
) -> bytes:
    """A response's bytes; ``headers`` (CRLF-separated lines) default to a Content-Length."""
    if headers is None:
        headers = b"Content-Type: application/json\r\nContent-Length: %d" % len(body)
    head = status + b"\r\n" + (headers + b"\r\n" if headers else b"") + b"\r\n"
    return head + body


class RawServer:
    """Answers every request on 127.0.0.1 with ``script``, which a test may change between calls."""

    def __init__(self, script: Script | bytes = b"") -> None:
        self.script = script if isinstance(script, Script) else Script(script)
        self.requests: list[bytes] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, name="raw-server", daemon=True)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        with self._lock:
            for conn in self._open:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.add(conn)
        script = self.script
        try:
            self.requests.append(_read_request(conn))
            conn.sendall(script.data)
            for start in range(0, script.filler, len(_FILL)):
                conn.sendall(_FILL[: min(len(_FILL), script.filler - start)])
            for byte in script.trickled:
                if self._stopping.wait(script.trickle_s):
                    return
                conn.sendall(bytes([byte]))
            if script.keep_open:
                self._stopping.wait()
        except OSError:
            pass  # the client went away first (its deadline, its cap): that is the point
        finally:
            with self._lock:
                self._open.discard(conn)
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def _read_request(conn: socket.socket) -> bytes:
    """The request's head and Content-Length body (enough for a client's POST)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 1 << 20:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or b"0")
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body
