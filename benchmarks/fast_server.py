"""A lean OpenAI-compatible completion server for throughput benchmarks, in a process of its own.

tests/loopback.py (a thread per connection, the standard library's HTTP parsing, a record of
every request) costs a fast client part of its pace: the provider's request path alone makes
10,000 calls at concurrency 50 in 2.0-2.1 s against it and in 1.76 s against this server
(idle 2-core Xeon), so a client's own figure is measured here. This server answers
every POST to ``/v1/completions`` or ``/v1/chat/completions`` at once with a fixed reply ("ok"),
parses no more of a request than its head and Content-Length, and keeps only counts:

- ``GET /stats`` answers ``{"completions": N, "max_in_flight": M, "connections": C}``:
  completion requests answered, the most requests read but not yet answered at once (parsed
  in one read, they count together), connections accepted;
- ``POST /reset`` sets them to 0.

Run: ``python benchmarks/fast_server.py``; it prints its base URL
(``http://127.0.0.1:PORT/v1``) on its first line and serves until its stdin closes.
``FastServer`` below does that from a benchmark, with the accessors run.py's counting uses.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

COMPLETION_PATHS = (b"/v1/completions", b"/v1/chat/completions")
HEAD_END = b"\r\n\r\n"


def _reply(payload: dict[str, object], status: bytes = b"200 OK") -> bytes:
    body = json.dumps(payload).encode()
    head = (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


USAGE = {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
TEXT_REPLY = _reply(
    {
        "id": "cmpl-bench",
        "object": "text_completion",
        "model": "bench",
        "choices": [{"index": 0, "text": "ok", "finish_reason": "stop"}],
        "usage": USAGE,
    }
)
CHAT_REPLY = _reply(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok"},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
)
NOT_FOUND = _reply({"error": {"message": "not found", "type": "not_found"}}, b"404 Not Found")


@dataclass
class Counts:
    completions: int = 0
    max_in_flight: int = 0
    connections: int = 0

    def reset(self) -> None:
        self.completions = self.max_in_flight = self.connections = 0


class Http(asyncio.Protocol):
    """HTTP/1.1 keep-alive; requests answered in order as their bodies arrive."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.counts.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        while (request := self._next_request()) is not None:
            replies.append(self._answer(*request))
        if replies and self.transport is not None:
            self.counts.max_in_flight = max(self.counts.max_in_flight, len(replies))
            self.transport.write(b"".join(replies))

    def _next_request(self) -> tuple[bytes, bytes] | None:
        end = self.buffer.find(HEAD_END)
        if end < 0:
            return None
        head = self.buffer[:end]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        total = end + len(HEAD_END) + length
        if len(self.buffer) < total:
            return None
        method, target, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
        self.buffer = self.buffer[total:]
        return method, target

    def _answer(self, method: bytes, target: bytes) -> bytes:
        path = target.split(b"?", 1)[0]
        if method == b"POST" and path in COMPLETION_PATHS:
            self.counts.completions += 1
            return CHAT_REPLY if path.endswith(b"chat/completions") else TEXT_REPLY
        if path == b"/stats":
            return _reply(
                {
                    "completions": self.counts.completions,
                    "max_in_flight": self.counts.max_in_flight,
                    "connections": self.counts.connections,
                }
            )
        if path == b"/reset" and method == b"POST":
            self.counts.reset()
            return _reply({})
        return NOT_FOUND


async def serve() -> None:
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Http(counts), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    stdin_closed = asyncio.Event()
    # the parent ends us by closing our stdin: no signal, no orphan if the parent dies
    threading.Thread(
        target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stdin_closed.set)),
        daemon=True,
    ).start()
    async with server:
        await stdin_closed.wait()


class FastServer:
    """This server in a child process, for a benchmark: ``base_url``, ``reset()``, and the
    counts of requests answered since."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> FastServer:
        self._child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self._stdout(self._child).readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the fast server did not start: {self.base_url!r}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        child, self._child = self._child, None
        if child is not None and child.stdin is not None:
            child.stdin.close()  # the server's signal to stop
            child.wait(timeout=10)

    @staticmethod
    def _stdout(child: subprocess.Popen[str]) -> IO[str]:
        assert child.stdout is not None
        return child.stdout

    def _ask(self, path: str, method: str = "GET") -> dict[str, Any]:
        root = self.base_url.removesuffix("/v1")
        request = urllib.request.Request(root + path, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as answer:
            data: dict[str, Any] = json.loads(answer.read())
        return data

    def reset(self) -> None:
        self._ask("/reset", "POST")

    @property
    def completions(self) -> int:
        return int(self._ask("/stats")["completions"])

    @property
    def max_in_flight(self) -> int:
        return int(self._ask("/stats")["max_in_flight"])


if __name__ == "__main__":
    asyncio.run(serve())
