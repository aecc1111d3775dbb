"""A loopback OpenAI-compatible HTTP server for tests and benchmarks.

Real sockets on 127.0.0.1, one thread per connection, with scripted or random fault
injection and an account of every request. Standard library only.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import socketserver
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

__all__ = [
    "CHAT_PATH",
    "COMPLETIONS_PATH",
    "COMPLETION_PATHS",
    "EMBEDDINGS_PATH",
    "MODELS_PATH",
    "Fault",
    "FaultKind",
    "LoopbackServer",
    "ModelConfig",
    "RecordedRequest",
    "Responder",
    "ToolReply",
    "disconnect",
    "echo",
    "embedding_of",
    "hang",
    "malformed",
    "rate_limit",
    "rules",
    "status",
]

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"
MODELS_PATH = "/v1/models"
EMBEDDINGS_PATH = "/v1/embeddings"
EMBEDDING_DIMENSIONS = 64
COMPLETION_PATHS = frozenset({CHAT_PATH, COMPLETIONS_PATH})
MALFORMED_BODY = b'{"choices": ['

FaultKind = Literal["status", "rate_limit", "hang", "malformed", "disconnect"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; `started` is a `time.perf_counter()` value."""

    path: str
    method: str
    headers: dict[str, str]
    body: Any
    model: str | None
    started: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages, or [] for anything else."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        if not isinstance(messages, list):
            return []
        return [message for message in messages if isinstance(message, dict)]

    @property
    def prompt(self) -> str:
        """The text-completion prompt, or "" for anything else."""
        return _text_of(self.body.get("prompt") if isinstance(self.body, dict) else None)

    @property
    def prompt_text(self) -> str:
        """All message contents joined by newlines, or the completion prompt."""
        if self.messages:
            return "\n".join(_text_of(message.get("content")) for message in self.messages)
        return self.prompt

    @property
    def user_text(self) -> str:
        """The last user message's content, or the completion prompt."""
        if not self.messages:
            return self.prompt
        users = [m for m in self.messages if m.get("role") == "user"]
        return _text_of(users[-1].get("content")) if users else ""


@dataclass(frozen=True)
class ToolReply:
    """An answer that calls tools: OpenAI's ``message.tool_calls`` in order, each a name and its
    arguments as the raw text the model wrote (not necessarily JSON); ``text`` may be None, as
    when a model only calls tools."""

    calls: tuple[tuple[str, str], ...]
    text: str | None = None


Responder = Callable[[RecordedRequest], "str | ToolReply"]


def _text_of(value: Any) -> str:
    """Plain text from a content string, a list of content parts, or a list of prompts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = (part.get("text") if isinstance(part, dict) else part for part in value)
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


def echo(request: RecordedRequest) -> str:
    """The default responder: "echo: " plus the last user message (or the prompt)."""
    return "echo: " + request.user_text


def embedding_of(text: str) -> list[float]:
    """The server's deterministic embedding: a bag of lower-cased words, each hashed (crc32)
    to one of 64 dimensions; texts with the same words get the same vector."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in text.lower().split():
        vector[zlib.crc32(word.strip(".,!?;:").encode()) % EMBEDDING_DIMENSIONS] += 1.0
    return vector


def rules(mapping: Mapping[str, str], default: str = "") -> Responder:
    """A responder answering the value of the first key found in the request's user text."""
    pairs = list(mapping.items())

    def respond(request: RecordedRequest) -> str:
        text = request.user_text
        return next((answer for key, answer in pairs if key in text), default)

    return respond


@dataclass(frozen=True)
class ModelConfig:
    """How the server answers for one model name."""

    responder: Responder
    reported: str | None = None
    system_fingerprint: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True)
class Fault:
    """One injected failure; build it with the factory functions below."""

    kind: FaultKind
    status: int = 0
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0


def _error_body(code: int, message: str | None = None) -> bytes:
    return _dump({"error": {"message": message or _phrase(code), "type": _error_type(code)}})


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"HTTP {code}"


def _error_type(code: int) -> str:
    known = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found",
        405: "invalid_request_error",
        429: "rate_limit_error",
    }
    return known.get(code, "server_error" if code >= 500 else "invalid_request_error")


def _dump(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def status(code: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Fault:
    """An HTTP error; `body` may be bytes, str or JSON-able (default: OpenAI error JSON)."""
    if body is None:
        raw = _error_body(code)
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = body.encode() if isinstance(body, str) else _dump(body)
    return Fault("status", code, raw, tuple((headers or {}).items()))


def rate_limit(
    retry_after: str | float | None = None, retry_after_ms: float | None = None
) -> Fault:
    """A 429, with `Retry-After` and/or `retry-after-ms` headers when given."""
    headers: list[tuple[str, str]] = []
    if retry_after is not None:
        headers.append(("Retry-After", _number_text(retry_after)))
    if retry_after_ms is not None:
        headers.append(("retry-after-ms", _number_text(retry_after_ms)))
    body = _error_body(429, "Rate limit reached; please retry later.")
    return Fault("rate_limit", 429, body, tuple(headers))


def _number_text(value: str | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def hang(seconds: float) -> Fault:
    """Wait `seconds` (or until the server stops) and then answer normally."""
    return Fault("hang", seconds=seconds)


def malformed() -> Fault:
    """A 200 whose body is truncated JSON."""
    return Fault("malformed", 200, MALFORMED_BODY)


def disconnect() -> Fault:
    """Close the connection without sending any response."""
    return Fault("disconnect")


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


def _json_reply(code: int, payload: Any) -> _Reply:
    return _Reply(code, _dump(payload))


def _error_reply(code: int, message: str) -> _Reply:
    return _Reply(code, _error_body(code, message))


def _tool_calls(reply: ToolReply) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(reply.calls)
    ]


def _usage(prompt: str, text: str) -> dict[str, int]:
    prompt_tokens = max(1, len(prompt.split()))
    completion_tokens = max(1, len(text.split()))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class LoopbackServer:
    """An OpenAI-compatible server on 127.0.0.1 running in a background thread."""

    def __init__(self, *, latency_ms: float = 0, seed: int = 0) -> None:
        self.latency_ms = latency_ms
        self.fault_rate = 0.0
        self.fault_kinds: list[Fault] = [status(500)]
        self.default_responder: Responder = echo
        self._seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._models: dict[str, ModelConfig] = {}
        self._faults: deque[tuple[Fault, str | None]] = deque()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._connections = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # lifecycle

    def start(self) -> Self:
        """Bind a free port and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("LoopbackServer is already running")
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(self)
        self._port = self._httpd.server_port
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one interval
            name=f"loopback-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly: hung handlers are woken and open connections are cut."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.drop_connections()
        httpd.server_close()
        thread.join(timeout=1)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LoopbackServer has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # configuration

    def set_model(
        self,
        name: str,
        responder: Responder,
        *,
        reported: str | None = None,
        system_fingerprint: str | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Answer requests for `name` with `responder`, reporting `reported` as the model."""
        config = ModelConfig(responder, reported, system_fingerprint, latency_ms)
        with self._lock:
            self._models[name] = config

    def inject(self, *faults: Fault, model: str | None = None) -> None:
        """Queue faults, each consumed by the next completion request (for `model` if given)."""
        with self._lock:
            self._faults.extend((fault, model) for fault in faults)

    @property
    def seed(self) -> int:
        return self._seed

    @seed.setter
    def seed(self, value: int) -> None:
        with self._lock:
            self._seed = value
            self._rng = random.Random(value)

    def reset(self) -> None:
        """Forget requests, queued faults and counters, and reseed the fault RNG."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._max_in_flight = self._in_flight
            self._connections = 0
            self._rng = random.Random(self._seed)

    # accounting

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        """The POST requests to the completion endpoints."""
        return [r for r in self.requests if r.method == "POST" and r.path in COMPLETION_PATHS]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        """The POST requests to ``/embeddings``."""
        return [r for r in self.requests if r.method == "POST" and r.path == EMBEDDINGS_PATH]

    @property
    def embedding_batches(self) -> list[int]:
        """How many texts each ``/embeddings`` request carried, in arrival order."""
        sizes = (_inputs(r.body) for r in self.embedding_requests)
        return [len(inputs) for inputs in sizes if inputs is not None]

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.model == model]

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    @property
    def connection_count(self) -> int:
        """TCP connections accepted (keep-alive reuses one for many requests)."""
        with self._lock:
            return self._connections

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    # request handling (called from handler threads)

    def _connection_opened(self) -> None:
        with self._lock:
            self._connections += 1

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> _Reply | None:
        """The reply to send, or None to drop the connection."""
        record = self._record(method, urlsplit(target).path, headers, raw)
        with self._tracking():
            return self._route(record)

    def _record(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> RecordedRequest:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        model = body.get("model") if isinstance(body, dict) else None
        record = RecordedRequest(
            path=path,
            method=method,
            headers=headers,
            body=body,
            model=model if isinstance(model, str) else None,
            started=time.perf_counter(),
        )
        with self._lock:
            self._requests.append(record)
        return record

    @contextmanager
    def _tracking(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def _route(self, record: RecordedRequest) -> _Reply | None:
        if record.path in COMPLETION_PATHS or record.path == EMBEDDINGS_PATH:
            if record.method != "POST":
                return _error_reply(405, f"{record.method} is not allowed on {record.path}")
            return self._complete(record)
        if not self._wait(self.latency_ms / 1000):
            return None
        if record.path == MODELS_PATH and record.method == "GET":
            return _json_reply(200, self._models_payload())
        return _error_reply(404, f"Unknown path: {record.method} {record.path}")

    def _complete(self, record: RecordedRequest) -> _Reply | None:
        with self._lock:
            config = self._models.get(record.model or "")
        latency_ms = self.latency_ms
        if config is not None and config.latency_ms is not None:
            latency_ms = config.latency_ms
        if not self._wait(latency_ms / 1000):
            return None
        if not isinstance(record.body, dict) or record.model is None:
            return _error_reply(400, "The body must be a JSON object with a 'model' string.")
        fault = self._next_fault(record.model)
        if fault is not None:
            if fault.kind == "disconnect":
                return None
            if fault.kind != "hang":
                return _Reply(fault.status, fault.body, fault.headers)
            if not self._wait(fault.seconds):
                return None
        if record.path == EMBEDDINGS_PATH:
            return self._embed(record)
        return self._answer(record, config)

    def _embed(self, record: RecordedRequest) -> _Reply:
        inputs = _inputs(record.body)
        if inputs is None:
            return _error_reply(400, "'input' must be a non-empty string or list of them.")
        data = [
            {"object": "embedding", "index": index, "embedding": embedding_of(text)}
            for index, text in enumerate(inputs)
        ]
        tokens = sum(max(1, len(text.split())) for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return _json_reply(
            200, {"object": "list", "data": data, "model": record.model, "usage": usage}
        )

    def _wait(self, seconds: float) -> bool:
        """Sleep in this handler thread; False when the server stopped meanwhile."""
        if seconds > 0:
            self._stopping.wait(seconds)
        return not self._stopping.is_set()

    def _next_fault(self, model: str) -> Fault | None:
        with self._lock:
            for index, (fault, only) in enumerate(self._faults):
                if only is None or only == model:
                    del self._faults[index]
                    return fault
            if self.fault_kinds and self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.fault_kinds)
        return None

    def _answer(self, record: RecordedRequest, config: ModelConfig | None) -> _Reply:
        responder = self.default_responder if config is None else config.responder
        try:
            text = responder(record)
        except Exception as exc:  # surfaced to the client so the failing test shows it
            return _error_reply(500, f"loopback responder failed: {exc!r}")
        payload = self._completion_payload(record, config, text)
        if record.body.get("stream") is True:  # a dict: checked by _complete
            return _stream_reply(payload, record)
        return _json_reply(200, payload)

    def _completion_payload(
        self, record: RecordedRequest, config: ModelConfig | None, answer: str | ToolReply
    ) -> dict[str, Any]:
        chat = record.path == CHAT_PATH
        choice: dict[str, Any] = {"index": 0}
        text = answer.text if isinstance(answer, ToolReply) else answer
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        choice["finish_reason"] = "stop"
        if isinstance(answer, ToolReply):
            choice["message"]["tool_calls"] = _tool_calls(answer)
            choice["finish_reason"] = "tool_calls"
        payload: dict[str, Any] = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-loopback-{next(self._ids)}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": config.reported if config and config.reported else record.model,
        }
        if config is not None and config.system_fingerprint is not None:
            payload["system_fingerprint"] = config.system_fingerprint
        payload["choices"] = [choice]
        payload["usage"] = _usage(record.prompt_text, text or "")
        return payload

    def _models_payload(self) -> dict[str, Any]:
        with self._lock:
            names = sorted(self._models)
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "loopback"} for n in names]
        return {"object": "list", "data": data}


def _inputs(body: Any) -> list[str] | None:
    """An embeddings request's texts (``input``: a string or a list), or None when malformed."""
    value = body.get("input") if isinstance(body, dict) else None
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        return None
    if not all(isinstance(text, str) and text for text in texts):
        return None
    return texts


def _stream_reply(payload: dict[str, Any], record: RecordedRequest) -> _Reply:
    """The completion as server-sent events, a word per chunk, as OpenAI streams it (with a
    final usage chunk when ``stream_options.include_usage`` asks for one)."""
    choice = payload["choices"][0]
    chat = "message" in choice
    text = choice["message"]["content"] if chat else choice["text"]
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    chunks = [_chunk(payload, chat, piece, None) for piece in pieces]
    chunks.append(_chunk(payload, chat, "", "stop"))
    options = record.body.get("stream_options") if isinstance(record.body, dict) else None
    if isinstance(options, dict) and options.get("include_usage"):
        chunks.append({**_chunk(payload, chat, "", None), "choices": [], "usage": payload["usage"]})
    lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]
    return _Reply(200, "".join(lines).encode(), content_type="text/event-stream")


def _chunk(payload: dict[str, Any], chat: bool, piece: str, finish: str | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if chat:
        choice["delta"] = {"content": piece} if piece or finish is None else {}
    else:
        choice["text"] = piece
    return {
        "id": payload["id"],
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": payload["created"],
        "model": payload["model"],
        "choices": [choice],
    }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # stop() must not wait for hung handlers
    request_queue_size = 512

    def __init__(self, owner: LoopbackServer) -> None:
        self.owner = owner
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = int(self.socket.getsockname()[1])

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(request, socket.socket):
            with self._sockets_lock:
                self._sockets.add(request)
        self.owner._connection_opened()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._sockets_lock:
                self._sockets.discard(request)

    def drop_connections(self) -> None:
        """Cut every open connection, so idle keep-alive and hung handlers end."""
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away first (e.g. its timeout fired); not a server bug
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _dispatch(self) -> None:
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(_error_reply(400, "Malformed request framing."))
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.owner._handle(self.command, self.path, headers, raw)
        if reply is None:
            self._drop()
        else:
            self._send(reply)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return b"".join(chunks)

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _drop(self) -> None:
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
