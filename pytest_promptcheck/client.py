"""Get a sample's completion: from this session's memory, the cache, or one live call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pytest_promptcheck.cache import CacheMode, ResponseCache, cache_key
from pytest_promptcheck.errors import CacheMissError, PromptcheckError
from pytest_promptcheck.providers import ProviderSet
from pytest_promptcheck.records import Completion, ModelRequest


@dataclass
class CallStats:
    """What the run cost in calls; shown in the terminal summary."""

    live: int = 0
    cached: int = 0
    errors: int = 0


class ModelClient:
    """Never makes the same call twice in a session, and never caches an error."""

    def __init__(self, providers: ProviderSet, cache: ResponseCache) -> None:
        self.providers = providers
        self.cache = cache
        self.stats = CallStats()
        self._done: dict[str, asyncio.Future[Completion]] = {}

    async def samples(self, request: ModelRequest, count: int) -> list[Completion]:
        return [await self.sample(request, index) for index in range(count)]

    async def sample(self, request: ModelRequest, sample: int) -> Completion:
        provider = self.providers.get(request.provider)
        key = cache_key(request, provider.identity(request), sample)
        pending = self._done.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(key, request, sample))
            self._done[key] = pending
        try:
            return await asyncio.shield(pending)
        except PromptcheckError:
            self._done.pop(key, None)  # a later item may retry; errors are not remembered
            raise

    async def _fetch(self, key: str, request: ModelRequest, sample: int) -> Completion:
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.cached += 1
            return hit
        if self.cache.mode is CacheMode.REPLAY:
            self.stats.errors += 1
            raise CacheMissError(
                f"no recorded response for {request.model} (sample {sample + 1}) and "
                "--promptcheck-cache=replay makes no calls; record it first with "
                "--promptcheck-cache=use"
            )
        try:
            completion = await self.providers.get(request.provider).complete(request, sample)
        except PromptcheckError:
            self.stats.errors += 1
            raise
        self.stats.live += 1
        self.cache.put(key, completion)
        return completion
