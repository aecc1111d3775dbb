"""Get a sample's completion: from this session's memory, the cache, or a live call.

Live calls are bounded per provider (AIMD on 429), retried until their deadline with backoff
and jitter on what can succeed later (see retrying.py), and claimed through the cache directory
so that no call is made twice by xdist workers or by runs sharing the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from pytest_promptcheck.batching import Batch
from pytest_promptcheck.cache import CacheMode, ResponseCache, cache_key
from pytest_promptcheck.checks.api import Job
from pytest_promptcheck.errors import CacheMissError, PromptcheckError, ProviderError
from pytest_promptcheck.limiter import AdaptiveLimit
from pytest_promptcheck.policy import CallPolicy
from pytest_promptcheck.providers import ProviderSet
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.retrying import CircuitBreaker, RetryBudget, full_jitter
from pytest_promptcheck.shared import SharedCalls


@dataclass
class CallStats:
    """What the run cost in calls; shown in the progress line and the summary."""

    total: int = 0
    done: int = 0
    live: int = 0
    cached: int = 0
    retried: int = 0
    errors: int = 0


_UNBOUNDED = 2**31


class ModelClient:
    """Never makes the same call twice in a session, and never caches an error."""

    def __init__(
        self,
        providers: ProviderSet,
        cache: ResponseCache,
        policy: CallPolicy | None = None,
        shared: SharedCalls | None = None,
    ) -> None:
        self.providers = providers
        self.cache = cache
        self.policy = policy or CallPolicy()
        self.shared = shared
        self.stats = CallStats()
        self._calls: dict[str, asyncio.Future[Completion]] = {}
        self._limits: dict[str, AdaptiveLimit] = {}
        self._claim_gates: dict[str, asyncio.Semaphore] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self.budget = RetryBudget(self.policy.budget_ratio, self.policy.budget_floor)
        self._keys: dict[int, tuple[ModelRequest, dict[int, str]]] = {}
        self._writes = Batch(self.flush)
        if shared is not None:  # a claim is released only once its answer can be read
            shared.before_release = cache.flush
        self.on_progress: Callable[[], None] = _nothing
        """Called when a call starts or ends (the progress line)."""

    def key(self, request: ModelRequest, sample: int) -> str:
        """The cache key; remembered per request object, as plan, prefetch and items all ask."""
        memo = self._keys.get(id(request))
        if memo is None or memo[0] is not request:
            memo = self._keys[id(request)] = (request, {})
        keys = memo[1]
        if sample not in keys:
            keys[sample] = cache_key(request, self.providers.identity(request), sample)
        return keys[sample]

    def finished(self, request: ModelRequest, count: int) -> list[Completion] | None:
        """The samples when every call already succeeded (after prefetch), without the loop."""
        done = self.finished_jobs((request, index) for index in range(count))
        return None if done is None else list(done)

    def finished_jobs(self, jobs: Iterable[Job]) -> tuple[Completion, ...] | None:
        """The answers when every one of these calls already succeeded, without the loop."""
        done = []
        for request, sample in jobs:
            completion = self._succeeded(request, sample)
            if completion is None:
                return None
            done.append(completion)
        return tuple(done)

    def _succeeded(self, request: ModelRequest, sample: int) -> Completion | None:
        """The call's answer if it already succeeded; None if not made, running or failed."""
        call = self._calls.get(self.key(request, sample))
        if call is None or not call.done() or call.exception() is not None:
            return None
        return call.result()

    def started(self, key: str) -> bool:
        """Whether this session already made (or is making) the call of this key."""
        return key in self._calls

    async def samples(self, request: ModelRequest, count: int) -> list[Completion]:
        return list(await asyncio.gather(*(self.sample(request, i) for i in range(count))))

    async def sample(self, request: ModelRequest, sample: int) -> Completion:
        return await asyncio.shield(self._call(request, sample))

    def jobs(self, jobs: Iterable[Job]) -> list[asyncio.Future[Completion]]:
        """Start every distinct call of ``jobs`` (counted at once, for the progress line).

        The calls' own futures, not shielded ones: only the call phase awaits them, through
        ``as_completed``, which never cancels what it waits for."""
        return [self._call(r, s) for r, s in jobs]

    def _call(self, request: ModelRequest, sample: int) -> asyncio.Future[Completion]:
        key = self.key(request, sample)
        call = self._calls.get(key)
        if call is None:
            call = asyncio.ensure_future(self._fetch(key, request, sample))
            self._calls[key] = call
            self.stats.total += 1
        return call

    async def prefetch(
        self, work: Sequence[Awaitable[object]], dispatched: asyncio.Event | None = None
    ) -> None:
        """Await every piece of work concurrently; failures stay with the call for its items.

        ``dispatched`` is set once every unfinished call holds a place with its provider:
        nothing is left to send, so items can start while the last calls are in flight.
        """
        self.on_progress()
        for piece in asyncio.as_completed(work):
            with contextlib.suppress(PromptcheckError):  # the item that needs it reports it
                await piece
            if dispatched is not None and self.in_flight() >= self.stats.total - self.stats.done:
                dispatched.set()

    def in_flight(self) -> int:
        return sum(limit.in_flight for limit in self._limits.values())

    async def _fetch(self, key: str, request: ModelRequest, sample: int) -> Completion:
        try:
            return await self._fetch_once(key, request, sample)
        except PromptcheckError:
            self.stats.errors += 1
            raise
        finally:
            self.stats.done += 1
            self.on_progress()

    async def _fetch_once(self, key: str, request: ModelRequest, sample: int) -> Completion:
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.cached += 1
            return hit
        if self.cache.mode is CacheMode.REPLAY:
            raise CacheMissError(
                f"no recorded response for {request.model} (sample {sample + 1}) and "
                "--promptcheck-cache=replay makes no calls; record it first with "
                "--promptcheck-cache=use"
                + ("" if self.cache.health.ok else " (the cache directory failed in this run)")
            )
        if self.shared is None:
            return await self._live(key, request, sample)
        gate = self._claim_gate(request.provider)
        completion = await self.shared.once(
            key, lambda: self._live(key, request, sample), gate, lambda: self.cache.get(key)
        )
        if completion.cached:  # another process made the call
            self.stats.cached += 1
        return completion

    async def _live(self, key: str, request: ModelRequest, sample: int) -> Completion:
        completion = await self._with_retries(request, sample)
        self.stats.live += 1
        self.cache.put_soon(key, completion)
        self._flush_soon()
        return completion

    def _flush_soon(self) -> None:
        """Without claims, the answers are written in batches here; with them, the claims'
        batch writes the answers first (SharedCalls.before_release)."""
        if self.shared is None:
            self._writes.soon()

    def flush(self) -> None:
        """Write what is pending: answers first, then claims. Called when the session closes
        (Ctrl-C included), so no answer is lost."""
        self.cache.flush()
        if self.shared is not None:
            self.shared.flush()

    async def _with_retries(self, request: ModelRequest, sample: int) -> Completion:
        """Retry what can succeed later until the call's deadline, within the run's budget,
        while the provider's circuit is closed."""
        provider = self.providers.get(request.provider)
        limit = self._limit(request.provider)
        breaker = self._breaker(request.provider)
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        tries = 0
        while True:
            breaker.check()
            async with limit.slot() as window:
                breaker.check()  # it may have opened while this call waited for a place
                # the call's time starts with its first try, not while it queued for a place
                deadline = deadline or loop.time() + self.policy.call_deadline_s
                try:
                    completion = await provider.complete(request, sample)
                except ProviderError as exc:
                    error = exc
                    if exc.rate_limited:
                        limit.rate_limited(window, exc.retry_after_s)
                except Exception as exc:  # a provider's own bug: its items error, cleanly
                    error = _unforeseen(provider.name, exc)
                else:
                    limit.succeeded()
                    breaker.succeeded()
                    return completion
            tries += 1
            if not error.retryable:
                raise error.after(tries)
            breaker.failed(error)
            breaker.check()
            delay = self._backoff(tries, error)
            if self.policy.retries is not None and tries > self.policy.retries:
                raise error.after(tries)
            if loop.time() + delay >= deadline:
                raise self._past_deadline(error, tries)
            self.budget.take(max(self.stats.total, len(self._calls)), error)
            self.stats.retried += 1
            await breaker.sleep(delay)

    def _backoff(self, attempt: int, error: ProviderError) -> float:
        if error.retry_after_s is not None:
            return error.retry_after_s * random.uniform(1.0, 1.1)
        return full_jitter(attempt, self.policy.backoff_base_s, self.policy.backoff_cap_s)

    def _past_deadline(self, error: ProviderError, tries: int) -> ProviderError:
        return error.after(
            tries,
            note=f"no more tries: the next would start past the {self.policy.call_deadline_s:g} s "
            "call deadline, --promptcheck-call-deadline",
        )

    def _breaker(self, prefix: str) -> CircuitBreaker:
        breaker = self._breakers.get(prefix)
        if breaker is None:
            policy = self.policy
            breaker = self._breakers[prefix] = CircuitBreaker(
                prefix, policy.breaker_failures, policy.breaker_dead_s, policy.breaker_dead_failures
            )
        return breaker

    def _claim_gate(self, prefix: str) -> asyncio.Semaphore:
        """Under xdist a worker claims only as many calls as it has places, so the workers
        share the work; a lone run claims what it needs (a call backing off between tries
        holds its claim, and a bound would leave places idle while it waits)."""
        gate = self._claim_gates.get(prefix)
        if gate is None:
            shared = self.shared is not None and self.shared.in_a_run
            places = self._limit(prefix).maximum if shared else _UNBOUNDED
            gate = self._claim_gates[prefix] = asyncio.Semaphore(places)
        return gate

    def _limit(self, prefix: str) -> AdaptiveLimit:
        limit = self._limits.get(prefix)
        if limit is None:
            maximum = self.providers.max_concurrency(prefix) or self.policy.concurrency
            maximum = max(1, maximum // self.policy.share)  # a shard's part of the provider
            limit = self._limits[prefix] = AdaptiveLimit(maximum)
        return limit


def _nothing() -> None:
    pass


def _unforeseen(provider: str, exc: Exception) -> ProviderError:
    """Any exception a provider let through (a plugin's, or one the built-ins did not foresee)
    is the call's error, not a traceback; it is not retried, since nothing says it would pass."""
    from pytest_promptcheck.providers.http import shown

    lines = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return ProviderError(provider, f"unexpected error: {shown(detail)}")
