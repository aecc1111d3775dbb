"""Embeddings on an OpenAI-compatible ``/embeddings`` endpoint, micro-batched.

Each text is its own request to the run (cached and deduplicated per text, counted, retried),
but requests that reach the provider together are sent as one HTTP request: a batch holds
what arrives within a short window, up to ``MAX_BATCH`` texts, for one model. A failed batch
fails each of its texts, and the run retries them (together again, as they come back).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.records import Completion

MAX_BATCH = 64
WINDOW_S = 0.002
"""How long a batch waits for more texts after its first: requests whose outputs become ready
at once (a cached run, several checks of one output) reach the provider within it."""

Post = Callable[[str, list[str]], Awaitable[bytes]]
"""Sends one batch for a model and answers the body of the reply (raises ProviderError)."""
Clean = Callable[[str], str]
"""Makes a server's text printable: the key redacted, one clipped line (HttpProvider._shown)."""


@dataclass
class _Waiting:
    text: str
    answer: asyncio.Future[Completion]


class EmbeddingBatcher:
    """Coalesces one provider's concurrent embedding requests into ``/embeddings`` batches."""

    def __init__(self, provider: str, post: Post, price_per_1m: float | None, clean: Clean) -> None:
        self._provider = provider
        self._post = post
        self._price_per_1m = price_per_1m
        self._clean = clean
        self._pending: dict[str, list[_Waiting]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def embed(self, model: str, text: str) -> Completion:
        loop = asyncio.get_running_loop()
        waiting = _Waiting(text, loop.create_future())
        batch = self._pending.setdefault(model, [])
        batch.append(waiting)
        if len(batch) >= MAX_BATCH:
            self._flush(model)
        elif model not in self._timers:
            self._timers[model] = loop.call_later(WINDOW_S, self._flush, model)
        return await waiting.answer

    def _flush(self, model: str) -> None:
        timer = self._timers.pop(model, None)
        if timer is not None:
            timer.cancel()
        batch = self._pending.pop(model, [])
        if batch:
            task = asyncio.ensure_future(self._send(model, batch))
            self._sending.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._sending.discard)

    async def _send(self, model: str, batch: list[_Waiting]) -> None:
        # a cancelled call (Ctrl-C, a failing test's other checks) no longer wants its vector
        batch = [waiting for waiting in batch if not waiting.answer.done()]
        if not batch:
            return
        started = time.perf_counter()
        try:
            body = await self._post(model, [waiting.text for waiting in batch])
            answers = self._parsed(body, len(batch), (time.perf_counter() - started) * 1000)
        except Exception as exc:  # every text of the batch fails with it; the run retries them
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        for waiting, answer in zip(batch, answers, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(answer)

    def _parsed(self, body: bytes, count: int, latency_ms: float) -> list[Completion]:
        try:
            return self._answers(json.loads(body), count, latency_ms)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
            detail = self._clean(f"{type(exc).__name__}: {exc}")  # may quote the server's values
            raise ProviderError(
                self._provider, f"malformed embeddings body ({detail})", retryable=True
            ) from None

    def _answers(self, data: dict[str, Any], count: int, latency_ms: float) -> list[Completion]:
        """One completion per text: its vector as JSON; the batch's tokens shared evenly."""
        items = sorted(data["data"], key=lambda item: item["index"])
        if [item["index"] for item in items] != list(range(count)):
            raise ValueError(f"embeddings not indexed 0 to {count - 1}, one per text")
        usage = data.get("usage") or {}
        tokens = usage.get("prompt_tokens", 0)
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            raise TypeError(f"a token count is {tokens!r}, not a whole number of 0 or more")
        reported = data.get("model")
        return [
            Completion(
                text=json.dumps(_vector(item["embedding"]), separators=(",", ":")),
                model_reported=reported[:200] if isinstance(reported, str) else "",
                tokens_in=tokens // count + (index < tokens % count),
                latency_ms=round(latency_ms, 3),
                cost_usd=self._cost(tokens // count + (index < tokens % count)),
            )
            for index, item in enumerate(items)
        ]

    def _cost(self, tokens: int) -> float | None:
        return None if self._price_per_1m is None else tokens * self._price_per_1m / 1_000_000


def _vector(value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise TypeError("an embedding is not a non-empty list of numbers")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise TypeError("an embedding holds something other than numbers")
    return [float(x) for x in value]
