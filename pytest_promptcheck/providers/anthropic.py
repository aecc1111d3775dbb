"""Anthropic's Messages API: POST {base}/v1/messages with ``x-api-key`` and
``anthropic-version``. The wire shapes are in anthropic_wire.py; the HTTP exchange, its caps,
deadline and key redaction in http.py; retries, backoff and the circuit breaker in the run's
client, like every provider's."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers.anthropic_wire import (
    Usage,
    failure,
    parse_answer,
    request_body,
)
from pytest_promptcheck.providers.openai import HttpProvider, retry_after_seconds
from pytest_promptcheck.records import Completion, ModelRequest

if TYPE_CHECKING:
    from pytest_promptcheck.providers.http import Reply

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
KEY_VARIABLE = "ANTHROPIC_API_KEY"
CACHE_READ_PRICE = "price_per_1m_cache_read"  # config.CACHE_PRICE_KEYS
CACHE_WRITE_PRICE = "price_per_1m_cache_write"
# Anthropic's list prices relative to input tokens (5-minute cache writes), used when a table
# prices input tokens but not the cache.
_CACHE_READ_FACTOR = 0.1
_CACHE_WRITE_FACTOR = 1.25


class AnthropicProvider(HttpProvider):
    """One httpx2 client per provider; the key is read from the environment at send time."""

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    BASE_URL_VARIABLE = "ANTHROPIC_BASE_URL"
    KEY_VARIABLE = KEY_VARIABLE

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        # the API version decides the shape of answers as much as the base URL does
        return {"base_url": self.base_url, "anthropic_version": API_VERSION}

    def _client_options(self) -> dict[str, Any]:
        from pytest_promptcheck.providers.http import EnvAuth

        return {
            "auth": EnvAuth(self.key_variable, "x-api-key", prefix=""),
            "headers": {"anthropic-version": API_VERSION},
        }

    async def _complete(self, request: ModelRequest) -> Completion:
        if request.embed_input is not None:  # a similar check naming an anthropic-type endpoint
            raise ProviderError(
                self.name,
                "the Messages API has no embeddings; give the similar check model: wordllama,"
                " or a provider:model with an OpenAI-compatible /embeddings endpoint",
            )
        started = time.perf_counter()
        reply = await self._http().post(f"{self.base_url}/v1/messages", request_body(request))
        latency_ms = (time.perf_counter() - started) * 1000
        if reply.status >= 400:
            failed = failure(reply.status, reply.body)
            request_id = reply.headers.get("request-id")
            where = f" (request-id {self._shown(request_id, 100)})" if request_id else ""
            raise ProviderError(
                self.name,
                self._shown(failed.message) + where,
                status=reply.status,
                retryable=failed.retryable,
                retry_after_s=retry_after_seconds(reply.headers) if failed.retryable else None,
            )
        return self._parse(reply, request.output_schema is not None, latency_ms)

    def _parse(self, reply: Reply, schema_tool: bool, latency_ms: float) -> Completion:
        try:
            answer = parse_answer(json.loads(reply.body), schema_tool=schema_tool)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
            detail = "not JSON" if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            body = reply.body.decode("utf-8", "replace")
            error = ProviderError(
                self.name,
                f"malformed response body ({self._shown(detail)}): {self._shown(body, 120)}",
                status=reply.status,
                retryable=True,
            )
        else:
            return Completion(
                text=answer.text,
                model_reported=answer.model,
                tokens_in=answer.usage.tokens_in,
                tokens_out=answer.usage.output,
                latency_ms=round(latency_ms, 3),
                cost_usd=self._cost(answer.usage),
                finish_reason=answer.stop_reason,
                tool_calls=answer.tool_calls,
            )
        raise error

    def _cost(self, usage: Usage) -> float | None:
        """USD from the table's prices per 1M tokens; unknown without input and output prices.
        Cache reads and writes have their own prices, by default Anthropic's multiples of the
        input price."""
        price_in, price_out = self._config.price_per_1m_input, self._config.price_per_1m_output
        if price_in is None or price_out is None:
            return None
        options = self._config.options
        price_read = float(options.get(CACHE_READ_PRICE, price_in * _CACHE_READ_FACTOR))
        price_write = float(options.get(CACHE_WRITE_PRICE, price_in * _CACHE_WRITE_FACTOR))
        total = (
            usage.input * price_in
            + usage.output * price_out
            + usage.cache_read * price_read
            + usage.cache_write * price_write
        )
        return total / 1_000_000
