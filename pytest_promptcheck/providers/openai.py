"""Any OpenAI-compatible server: /chat/completions for messages, /completions for prompts."""

from __future__ import annotations

import datetime
import email.utils
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers import ProviderConfig
from pytest_promptcheck.records import Completion, ModelRequest

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
"""Besides 5xx: what a later try can get past. 400, 401, 403, 404, 422 cannot."""
MAX_RETRY_AFTER_S = 60.0


class OpenAIProvider:
    """One httpx.AsyncClient per provider; the key is read from the environment at call time."""

    def __init__(self, config: ProviderConfig, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.name = config.name
        self._config = config
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        url = self._config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        return url.rstrip("/")

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        return {"base_url": self.base_url}

    def _api_key(self) -> str | None:
        return os.environ.get(self._config.api_key_env or "OPENAI_API_KEY") or None

    def _http(self) -> httpx.AsyncClient:
        # httpx is imported on the first live call: a run served from the cache never needs it
        if self._client is None:
            import httpx

            from pytest_promptcheck.providers.transport import LeanTransport, suits

            transport = LeanTransport() if suits(self.base_url) else None
            self._client = httpx.AsyncClient(timeout=self._timeout_s, transport=transport)
        return self._client

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        chat = request.messages is not None
        body: dict[str, Any] = {"model": request.model_name, **request.params}
        if chat:
            body["messages"] = list(request.messages or ())
        else:
            body["prompt"] = request.prompt
        url = f"{self.base_url}/{'chat/completions' if chat else 'completions'}"
        started = time.perf_counter()
        response = await self._post(url, body)
        latency_ms = (time.perf_counter() - started) * 1000
        return self._parse(response, chat, latency_ms)

    async def _post(self, url: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        client = self._http()
        import httpx

        try:
            response = await client.post(url, json=body, headers=headers)
        except httpx.TimeoutException:
            message = f"timed out after {self._timeout_s:g} s ({url})"
            raise ProviderError(self.name, message, retryable=True) from None
        except httpx.HTTPError as exc:
            message = self._redact(f"{type(exc).__name__}: {exc} ({url})")
            raise ProviderError(self.name, message, retryable=True) from None
        if response.status_code >= 400:
            raise ProviderError(
                self.name,
                self._error_message(response),
                status=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUS or response.status_code >= 500,
                retry_after_s=retry_after_seconds(response.headers),
            )
        return response

    def _error_message(self, response: httpx.Response) -> str:
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = self._redact(response.text)[:300] or response.reason_phrase
        return self._redact(message)

    def _redact(self, text: str) -> str:
        key = self._api_key()
        return text.replace(key, "[redacted]") if key else text

    def _parse(self, response: httpx.Response, chat: bool, latency_ms: float) -> Completion:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] if chat else choice["text"]
            usage = data.get("usage") or {}
            tokens_in = int(usage.get("prompt_tokens", 0))
            tokens_out = int(usage.get("completion_tokens", 0))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            detail = (
                f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else "not JSON"
            )
            raise ProviderError(
                self.name,
                f"malformed response body ({detail}): {self._redact(response.text)[:120]!r}",
                status=response.status_code,
                retryable=True,
            ) from None
        return Completion(
            text=text or "",
            model_reported=str(data.get("model") or ""),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=round(latency_ms, 3),
            cost_usd=self._cost(tokens_in, tokens_out),
            system_fingerprint=data.get("system_fingerprint"),
            finish_reason=choice.get("finish_reason"),
        )

    def _cost(self, tokens_in: int, tokens_out: int) -> float | None:
        price_in, price_out = self._config.price_per_1m_input, self._config.price_per_1m_output
        if price_in is None or price_out is None:
            return None
        return (tokens_in * price_in + tokens_out * price_out) / 1_000_000

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms``, else ``Retry-After`` in seconds or as an HTTP date; capped at 60 s."""
    seconds: float | None = None
    if "retry-after-ms" in headers:
        seconds = _number(headers["retry-after-ms"])
        seconds = None if seconds is None else seconds / 1000
    elif "retry-after" in headers:
        value = headers["retry-after"]
        seconds = _number(value)
        if seconds is None:
            seconds = _seconds_until(value)
    return None if seconds is None else min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _seconds_until(http_date: str) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (moment - datetime.datetime.now(datetime.UTC)).total_seconds()
