"""One JSON POST over httpx2 with every failure a ProviderError meant for people.

What a hostile or broken server cannot do here: make the request outlive its deadline (one
overall deadline around the whole exchange, body included: httpx2's own timeouts are per
read, so a body trickled a byte at a time would never end), make us hold more than
MAX_BODY_BYTES of its body (it is streamed and dropped past the cap, error bodies too), have
the key forwarded (redirects are reported, never followed), or put the key on the screen:
the key is never a local variable of a frame that sees an exception (an httpx2.Auth reads it
from the environment into the request's headers, whose repr hides it), every exception is
turned into a ProviderError whose message is redacted, raised outside the ``except`` block
so that neither the original exception nor its frames travel with it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx2

from pytest_promptcheck import __version__
from pytest_promptcheck.capture_keys import OWN_REQUEST
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers.transport import Answer, Body, LeanPool, Target, suits
from pytest_promptcheck.quoting import clip

MAX_BODY_BYTES = 16 * 2**20
"""A chat completion is kilobytes; 16 MiB leaves room for long outputs and logprobs."""
_LIMIT_TEXT = f"{MAX_BODY_BYTES // 2**20} MiB"
_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "identity",
    "User-Agent": f"pytest-promptcheck/{__version__}",
}
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))
"""Made once: json.dumps with options other than the defaults makes an encoder per call."""
_OWN = {OWN_REQUEST: True}
"""Marks the plugin's own requests, which a flow's SDK capture (capture.py) lets through."""


@dataclass(frozen=True)
class Reply:
    """A whole response whose body is within the cap."""

    status: int
    headers: httpx2.Headers
    body: bytes


class EnvAuth(httpx2.Auth):
    """``<header>: <prefix>$VARIABLE``, read from the environment as each request leaves:
    ``Authorization: Bearer`` by default, Anthropic's ``x-api-key`` without a prefix.

    Unlike Authorization, an x-api-key header is shown by the repr of httpx2's Headers: what
    keeps it off the screen is that no error of ours carries the request or its headers, and
    that every message is redacted (tests/plugin/test_anthropic.py runs with frame locals
    shown)."""

    def __init__(
        self, variable: str, header: str = "Authorization", prefix: str = "Bearer "
    ) -> None:
        self.variable = variable
        self.header = header
        self.prefix = prefix

    def value(self) -> str | None:
        key = os.environ.get(self.variable)
        return self.prefix + key if key else None

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        value = self.value()
        if value is not None:
            request.headers[self.header] = value
        yield request


def redact(text: str, variable: str) -> str:
    """``text`` without the key, also as it appears inside a repr of str or bytes."""
    if not os.environ.get(variable):
        return text
    for form in {
        os.environ[variable],
        repr(os.environ[variable])[1:-1],
        repr(os.environ[variable].encode("utf-8", "replace"))[2:-1],
    }:
        text = text.replace(form, "[redacted]")
    return text


class JsonClient:
    """POSTs JSON to one provider's endpoints; ``post`` raises ProviderError and nothing else.

    Plain http:// without a proxy goes through the lean pool (transport.py), anything else
    (https, proxies, a transport given by a test or benchmark) through an httpx2 client, made
    on first use."""

    def __init__(
        self,
        provider: str,
        key_variable: str,
        timeout_s: float,
        base_url: str,
        transport: httpx2.AsyncBaseTransport | None = None,
        *,
        auth: EnvAuth | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """``auth`` sends the key (default: a bearer token); ``headers`` go on every request."""
        self.provider = provider
        self.key_variable = key_variable
        self.timeout_s = timeout_s
        self._auth = auth or EnvAuth(key_variable)
        self._headers = {**(headers or {}), **_HEADERS}
        self._fixed = [(name.encode(), value.encode()) for name, value in self._headers.items()]
        """The lean pool's headers but the key's, encoded once."""
        self._transport = transport
        self._lean = LeanPool() if transport is None and suits(base_url) else None
        self._targets: dict[str, Target] = {}
        self._client: httpx2.AsyncClient | None = None

    async def post(self, url: str, body: dict[str, Any]) -> Reply:
        payload = self._encode(body)
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await self._exchange(url, payload)
        except ProviderError:
            raise
        except (TimeoutError, httpx2.TimeoutException):
            failure = self._error(
                f"no complete response within {self.timeout_s:g} s, the per-request deadline "
                f"(--promptcheck-timeout) ({url})",
                retryable=True,
            )
        except (httpx2.UnsupportedProtocol, httpx2.LocalProtocolError) as exc:
            # the URL or the request itself is wrong: no later try can succeed
            failure = self._error(f"{type(exc).__name__}: {exc} ({url})", retryable=False)
        except httpx2.HTTPError as exc:
            failure = self._error(f"{type(exc).__name__}: {exc} ({url})", retryable=True)
        except Exception as exc:  # anything else: still the item's clean error, never a traceback
            failure = self._error(f"{type(exc).__name__}: {exc} ({url})", retryable=False)
        else:
            return reply
        raise failure

    def _encode(self, body: dict[str, Any]) -> bytes:
        try:
            return _ENCODER.encode(body).encode()
        except (ValueError, TypeError, RecursionError) as exc:
            failure = self._error(
                f"the request cannot be sent as JSON ({exc}); params must be JSON values "
                "and numbers finite (no NaN or infinity)",
                retryable=False,
            )
        raise failure

    async def _exchange(self, url: str, payload: bytes) -> Reply:
        if self._lean is None:
            async with self._httpx2().stream(
                "POST", url, content=payload, headers=self._headers, extensions=_OWN
            ) as answer:
                return await self._read(answer)
        target = self._targets.get(url) or self._targets.setdefault(url, Target.of(url))
        async with self._lean.post(target, self._raw_headers, payload) as lean:
            return await self._read(lean)

    def _raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The lean pool's headers, the key's among them: asked for as the request is framed."""
        key = self._auth.value()
        if key is None:
            return self._fixed
        return [*self._fixed, (self._auth.header.encode(), key.encode())]

    async def _read(self, answer: Answer | httpx2.Response) -> Reply:
        """The whole body, refused past the cap. Decoded bytes are counted (a compressed body
        is capped by what it becomes); a declared length past the cap is refused unread."""
        if 300 <= answer.status_code < 400:
            raise self._redirect(answer)
        declared = answer.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise self._too_large(answer.status_code)
        if isinstance(answer, Answer):
            body = await answer.read(MAX_BODY_BYTES)
        else:
            body = await _read_capped(answer, MAX_BODY_BYTES)
        if body is None:
            raise self._too_large(answer.status_code)
        return Reply(answer.status_code, answer.headers, body)

    def _httpx2(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(
                auth=self._auth,
                timeout=self.timeout_s,
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    def _redirect(self, answer: Answer | httpx2.Response) -> ProviderError:
        location = answer.headers.get("location")
        if location is None:
            where = f"HTTP {answer.status_code} without a Location"
            return self._error(where, status=answer.status_code, retryable=False)
        return self._error(
            f"redirected to {shown(location)} (HTTP {answer.status_code}); set the provider's "
            "base_url to the final address (redirects are not followed, so the key never goes "
            "elsewhere)",
            status=answer.status_code,
            retryable=False,
        )

    def _too_large(self, status: int) -> ProviderError:
        return self._error(
            f"response body larger than the {_LIMIT_TEXT} limit; a model's answer is far "
            "smaller: check that base_url points at the model server",
            status=status,
            retryable=False,
        )

    def _error(self, message: str, *, status: int | None = None, retryable: bool) -> ProviderError:
        text = redact(message, self.key_variable)
        return ProviderError(self.provider, text, status=status, retryable=retryable)

    async def aclose(self) -> None:
        if self._lean is not None:
            self._lean.close()
        if self._client is not None:
            await self._client.aclose()


async def _read_capped(answer: httpx2.Response, limit: int) -> bytes | None:
    """The body's raw bytes read and decoded as the lean pool's are (transport.Body), or None
    once past ``limit``."""
    body = Body(answer.headers.get("content-encoding", ""), limit)
    async for chunk in answer.aiter_raw():
        if not body.add(chunk):
            return None
    return body.whole() if body.add(b"", final=True) else None


def shown(text: str, limit: int = 300) -> str:
    """A server's text as it may be printed: one line of printable characters (no terminal
    escapes), clipped to ``limit``."""
    return clip("".join(c if c.isprintable() else "?" for c in text[: limit + 1]), limit)
