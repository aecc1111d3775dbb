"""Capture the application's own SDK calls while a flow runs, through the response cache.

Where requests are intercepted: ``handle_request`` of ``HTTPTransport`` and
``handle_async_request`` of ``AsyncHTTPTransport``, in httpx2 and (when installed) httpx: the
default transports every client builds, the OpenAI and Anthropic SDKs' included. Below the client,
a cached answer still goes through the client's own auth, redirects, event hooks, cookies,
decoding, stream wrapping and timing, so an SDK cannot tell a hit from a live answer; patching
``Client.send`` instead would have to rebuild that machinery. A client built on another transport
(aiohttp, a mock) is not captured. The plugin's own provider client marks its requests
(``OWN_REQUEST``) and uses its own transport for plain http, so it is never captured.

Outside a scope the hook costs one ContextVar lookup (benchmarks/capture.py). The scope lives in a
ContextVar of the capture object: concurrent flows (asyncio tasks, threads started with a copy of
the context) each see their own. Streams are recorded whole and replayed byte for byte, so the
SDK's stream iterator sees the same events (a live stream reaches the SDK once it has ended).
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType, TracebackType
from typing import Any, Self

from pytest_promptcheck.cache import CacheMode, ResponseCache, cache_failures
from pytest_promptcheck.capture_calls import CapturedCall, read_answer
from pytest_promptcheck.capture_keys import (
    OWN_REQUEST,
    Origin,
    RequestShape,
    StoredResponse,
    canonical_body,
    public_query,
    secrets_of,
    version_headers,
)
from pytest_promptcheck.capture_scope import (
    CaptureError,
    CaptureScope,
    Planned,
    miss_error,
    refused_error,
)

__all__ = ["CaptureError", "CaptureScope", "CapturedCall", "SdkCapture"]


class SdkCapture:
    """Installs the hooks for its lifetime (``with SdkCapture(...)`` or install/close)."""

    def __init__(self, cache: ResponseCache, base_urls: Iterable[str]) -> None:
        self.cache = cache
        self.origins = tuple(Origin.parse(url) for url in dict.fromkeys(base_urls) if url)
        self._scope: ContextVar[CaptureScope | None] = ContextVar(
            f"promptcheck_capture_{id(self)}", default=None
        )
        self._cache_lock = threading.Lock()
        self._patches: list[tuple[type, str, Any]] = []

    # lifecycle

    def install(self) -> Self:
        if self._patches:
            raise RuntimeError("SdkCapture is already installed")
        for lib in _libraries():
            self._patch(lib.HTTPTransport, "handle_request", self._sync_hook(lib))
            self._patch(lib.AsyncHTTPTransport, "handle_async_request", self._async_hook(lib))
        return self

    def close(self) -> None:
        """Restore exactly what was there (hooks of nested captures close in reverse order)."""
        while self._patches:
            owner, name, original = self._patches.pop()
            setattr(owner, name, original)

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _patch(self, owner: type, name: str, make: Callable[[Any], Any]) -> None:
        original = owner.__dict__[name]
        self._patches.append((owner, name, original))
        setattr(owner, name, make(original))

    @contextmanager
    def scope(self, sample: int, on_call: Callable[[CapturedCall], None]) -> Iterator[CaptureScope]:
        """Capture this context's requests (a flow run's) as ``sample``, reporting each call."""
        state = CaptureScope(sample, on_call)
        token = self._scope.set(state)
        try:
            yield state
        finally:
            self._scope.reset(token)

    # the hooks

    def _sync_hook(self, lib: ModuleType) -> Callable[[Any], Any]:
        def wrap(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
            def handle_request(transport: Any, request: Any) -> Any:
                scope = self._captures(request)
                if scope is None:
                    return original(transport, request)
                planned = self._plan(scope, request, request.read())
                return self._answer_sync(lib, planned, lambda: original(transport, request))

            return handle_request

        return wrap

    def _async_hook(self, lib: ModuleType) -> Callable[[Any], Any]:
        def wrap(original: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Any]:
            async def handle_async_request(transport: Any, request: Any) -> Any:
                scope = self._captures(request)
                if scope is None:
                    return await original(transport, request)
                planned = self._plan(scope, request, await request.aread())
                hit = self._hit(lib, planned)
                if hit is not None:
                    return hit
                started = time.perf_counter()
                response = await original(transport, request)
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
                return self._recorded(lib, planned, response, body, started)

            return handle_async_request

        return wrap

    def _answer_sync(self, lib: ModuleType, planned: Planned, send: Callable[[], Any]) -> Any:
        hit = self._hit(lib, planned)
        if hit is not None:
            return hit
        started = time.perf_counter()
        response = send()
        try:
            body = response.read()
        finally:
            response.close()
        return self._recorded(lib, planned, response, body, started)

    # deciding and answering

    def _captures(self, request: Any) -> CaptureScope | None:
        """The scope a request is captured in; None when it passes untouched: outside a scope,
        the plugin's own, or to another host (which replay refuses)."""
        scope = self._scope.get()
        if scope is None or request.extensions.get(OWN_REQUEST):
            return None
        url = request.url
        if any(o.covers(url.scheme, url.host, url.port, url.path) for o in self.origins):
            return scope
        if self.cache.mode is CacheMode.REPLAY:
            raise scope.fail(refused_error(request, self.origins))
        return None

    def _plan(self, scope: CaptureScope, request: Any, body: bytes) -> Planned:
        url = request.url
        shape = RequestShape(
            request.method,
            url.path,
            public_query(url.query.decode("ascii", "replace")),
            canonical_body(body),
            version_headers(request.headers),
            scope.sample,
        )
        occurrence = scope.occurrence(shape.identity)
        return Planned(scope, shape, occurrence, request, secrets_of(request.headers))

    def _hit(self, lib: ModuleType, planned: Planned) -> Any | None:
        """The recorded answer; in replay mode a miss raises instead."""
        with self._cache_lock:
            text = self.cache.get_http(planned.key)
        stored = _parsed(text)
        if stored is None:
            if self.cache.mode is CacheMode.REPLAY:
                raise planned.scope.fail(miss_error(planned, self.cache.health.ok))
            return None
        planned.scope.answered(planned.shape.identity)
        self._report(planned, stored, cached=True)
        return _response(lib, planned.request, stored.status, stored.headers, stored.body)

    def _recorded(
        self, lib: ModuleType, planned: Planned, response: Any, body: bytes, started: float
    ) -> Any:
        """A live answer: stored when 2xx, reported, and handed on whole."""
        latency_ms = (time.perf_counter() - started) * 1000
        stored = StoredResponse.of(response.status_code, response.headers, body, latency_ms)
        if 200 <= stored.status < 300:
            text = stored.to_text(planned.shape.material(planned.occurrence), planned.secrets)
            with self._cache_lock:
                self.cache.put_http(planned.key, text)
            planned.scope.answered(planned.shape.identity)
        self._report(planned, stored, cached=False)
        return _response(
            lib, planned.request, stored.status, _unframed(response), body, response.extensions
        )

    def _report(self, planned: Planned, stored: StoredResponse, *, cached: bool) -> None:
        content_type = dict(stored.headers).get("content-type", "")
        streamed = planned.shape.streams or content_type.startswith("text/event-stream")
        answer = read_answer(stored.body, streamed)
        planned.scope.on_call(
            CapturedCall(
                method=planned.shape.method,
                path=planned.shape.path,
                model=planned.shape.model,
                status=stored.status,
                cached=cached,
                latency_ms=stored.latency_ms,
                fingerprint=planned.key,
                stream=streamed,
                tokens_in=answer.tokens_in,
                tokens_out=answer.tokens_out,
                text=answer.text,
                tool_calls=answer.tool_calls,
            )
        )


def _libraries() -> list[ModuleType]:
    """httpx2 (a dependency) and httpx when it is installed (older SDKs, many libraries)."""
    names = ["httpx2"] + (["httpx"] if importlib.util.find_spec("httpx") else [])
    return [importlib.import_module(name) for name in names]


def _unframed(response: Any) -> list[list[str]]:
    """A live answer's headers for its decoded, whole body (the SDK sees every other one)."""
    return [
        [name, value]
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]


def _parsed(text: str | None) -> StoredResponse | None:
    if text is None:
        return None
    try:
        return StoredResponse.from_text(text)
    except cache_failures():  # a corrupt entry is a miss, like a corrupt completion
        return None


def _response(
    lib: ModuleType,
    request: Any,
    status: int,
    headers: list[list[str]],
    body: bytes,
    extensions: dict[str, Any] | None = None,
) -> Any:
    kept = {"http_version": b"HTTP/1.1"}
    if extensions:
        kept.update({k: v for k, v in extensions.items() if k in ("http_version", "reason_phrase")})
    pairs = [(name, value) for name, value in headers]
    return lib.Response(status, headers=pairs, content=body, request=request, extensions=kept)
