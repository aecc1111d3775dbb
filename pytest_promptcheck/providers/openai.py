"""Any OpenAI-compatible server: /chat/completions for messages, /completions for prompts."""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.errors import PromptcheckError, ProviderError
from pytest_promptcheck.policy import DEFAULT_TIMEOUT_S
from pytest_promptcheck.providers.config import ProviderConfig
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.tools import openai_tool_calls, openai_tool_choice, openai_tools

if TYPE_CHECKING:
    import httpx2

    from pytest_promptcheck.providers.http import JsonClient, Reply
    from pytest_promptcheck.providers.openai_embeddings import EmbeddingBatcher

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
"""Besides 5xx: what a later try can get past. 400, 401, 403, 404, 422 cannot."""
MAX_RETRY_AFTER_S = 60.0


class HttpProvider:
    """What the HTTP providers share: their table, base URL and key variable, and one httpx2
    client made on the first live call (a run served from the cache never imports httpx2).

    ``transport`` replaces the one chosen by URL (the lean transport for plain http://,
    httpx2's own otherwise): benchmarks and tests compare them through the provider.
    """

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    BASE_URL_VARIABLE = "OPENAI_BASE_URL"
    KEY_VARIABLE = "OPENAI_API_KEY"

    def __init__(
        self,
        config: ProviderConfig,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = config.name
        self._config = config
        self._timeout_s = timeout_s
        self._transport = transport
        self._client: JsonClient | None = None

    @property
    def base_url(self) -> str:
        url = (
            self._config.base_url or os.environ.get(self.BASE_URL_VARIABLE) or self.DEFAULT_BASE_URL
        )
        return url.rstrip("/")

    @property
    def key_variable(self) -> str:
        return self._config.api_key_env or self.KEY_VARIABLE

    def _client_options(self) -> dict[str, Any]:
        """The JsonClient's ``auth`` and ``headers``, where they differ from a bearer token."""
        return {}

    def _http(self) -> JsonClient:
        if self._client is None:
            from pytest_promptcheck.providers.http import JsonClient

            self._client = JsonClient(
                self.name,
                self.key_variable,
                self._timeout_s,
                self.base_url,
                self._transport,
                **self._client_options(),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        """One call; whatever goes wrong is a ProviderError with the key redacted."""
        try:
            return await self._complete(request)
        except PromptcheckError:
            raise
        except Exception as exc:  # a shape of answer nobody foresaw: still the item's error
            failure = ProviderError(
                self.name,
                self._shown(f"unexpected answer ({type(exc).__name__}: {exc})"),
                retryable=False,
            )
        raise failure

    async def _complete(self, request: ModelRequest) -> Completion:
        raise NotImplementedError

    def _shown(self, text: str, limit: int = 300) -> str:
        """A server's text as it may be printed: the key redacted (in the whole text, so no
        clipped key survives), then made one clipped line of printable characters."""
        from pytest_promptcheck.providers.http import redact, shown

        return shown(redact(text, self.key_variable), limit)


class OpenAIProvider(HttpProvider):
    """One httpx2 client per provider; the key is read from the environment at send time."""

    _batcher: EmbeddingBatcher | None = None  # made on the first embedding request

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        return {"base_url": self.base_url}

    async def _complete(self, request: ModelRequest) -> Completion:
        if request.embed_input is not None:
            return await self._embeddings().embed(request.model_name, request.embed_input)
        chat = request.messages is not None
        body: dict[str, Any] = {"model": request.model_name, **request.params}
        if chat:
            body["messages"] = list(request.messages or ())
            body.update(_tool_fields(request))
        else:
            body["prompt"] = request.prompt
        url = f"{self.base_url}/{'chat/completions' if chat else 'completions'}"
        started = time.perf_counter()
        reply = await self._http().post(url, body)
        latency_ms = (time.perf_counter() - started) * 1000
        if reply.status >= 400:
            raise self._status_error(reply)
        return self._parse(reply, chat, latency_ms)

    def _embeddings(self) -> EmbeddingBatcher:
        if self._batcher is None:
            from pytest_promptcheck.providers.openai_embeddings import EmbeddingBatcher

            price = self._config.price_per_1m_input
            self._batcher = EmbeddingBatcher(self.name, self._post_embeddings, price, self._shown)
        return self._batcher

    async def _post_embeddings(self, model: str, texts: list[str]) -> bytes:
        """One ``/embeddings`` request for a batch of texts; the body of its answer."""
        body = {"model": model, "input": texts}
        reply = await self._http().post(f"{self.base_url}/embeddings", body)
        if reply.status >= 400:
            raise self._status_error(reply)
        return reply.body

    def _status_error(self, reply: Reply) -> ProviderError:
        return ProviderError(
            self.name,
            self._error_message(reply),
            status=reply.status,
            retryable=reply.status in RETRYABLE_STATUS or reply.status >= 500,
            retry_after_s=retry_after_seconds(reply.headers),
        )

    def _error_message(self, reply: Reply) -> str:
        try:
            message = str(json.loads(reply.body)["error"]["message"])
        except (ValueError, KeyError, TypeError, RecursionError):
            message = _text(reply.body) or f"HTTP {reply.status}"
        return self._shown(message)

    def _parse(self, reply: Reply, chat: bool, latency_ms: float) -> Completion:
        try:
            data = json.loads(reply.body)
            choice = data["choices"][0]
            text = choice["message"]["content"] if chat else choice["text"]
            calls = openai_tool_calls(choice["message"]) if chat else ()
            if not isinstance(text, str | None):
                raise TypeError(f"the answer's text is a {type(text).__name__}, not a string")
            usage = data.get("usage") or {}
            tokens_in = _count(usage.get("prompt_tokens", 0))
            tokens_out = _count(usage.get("completion_tokens", 0))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
            # the detail may quote the server's values (a token count): as clean as its body
            detail = "not JSON" if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            failure = ProviderError(
                self.name,
                f"malformed response body ({self._shown(detail)}): "
                + self._shown(_text(reply.body), 120),
                status=reply.status,
                retryable=True,
            )
        else:
            return Completion(
                text=text or "",
                model_reported=_label(data.get("model")) or "",
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                latency_ms=round(latency_ms, 3),
                cost_usd=self._cost(tokens_in, tokens_out),
                system_fingerprint=_label(data.get("system_fingerprint")),
                finish_reason=_label(choice.get("finish_reason")),
                tool_calls=calls,
            )
        raise failure

    def _cost(self, tokens_in: int, tokens_out: int) -> float | None:
        price_in, price_out = self._config.price_per_1m_input, self._config.price_per_1m_output
        if price_in is None or price_out is None:
            return None
        return (tokens_in * price_in + tokens_out * price_out) / 1_000_000


def _tool_fields(request: ModelRequest) -> dict[str, Any]:
    """The tools in OpenAI's shape; nothing when none are offered (the body stays as it was)."""
    fields: dict[str, Any] = {}
    if request.tools:
        fields["tools"] = openai_tools(request.tools)
    if request.tool_choice is not None:
        fields["tool_choice"] = openai_tool_choice(request.tool_choice)
    if request.output_schema is not None:  # a judge's verdict: the server holds it to the schema
        fields["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": request.output_schema, "strict": True},
        }
    return fields


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def _count(value: Any) -> int:
    """A token count as the server reports it: a whole number, 0 or more; else malformed."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"a token count is {value!r}, not a whole number of 0 or more")
    return value


def _label(value: Any) -> str | None:
    """A name the server reports (model, fingerprint, finish reason): kept only as short text,
    since it goes into baselines, drift lines and reports."""
    return value[:200] if isinstance(value, str) else None


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
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # "nan" would skip every wait


def _seconds_until(http_date: str) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (moment - datetime.datetime.now(datetime.UTC)).total_seconds()
