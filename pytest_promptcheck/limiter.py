"""Per-provider concurrency that adapts to rate limits (AIMD) and honours Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

OVERLOAD_SHARE = 0.4
OVERLOAD_MIN = 4


class AdaptiveLimit:
    """At most ``limit`` calls in flight; rate limiting halves the limit, successes win it back.

    Only 429s that come densely say the provider is over its limit: at least 40% of the
    recent outcomes (and four of them). A lone 429 among successes is a fault of that call
    (some providers throttle at random), and halving on it would cost the run most of its
    concurrency under random faults. The limit is cut once per window: a 429 from a call that
    started before the last cut says nothing new. After a cut the limit grows by one for every
    ``limit`` successes (additive increase), up to ``maximum``.
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.in_flight = 0
        self.peak_in_flight = 0
        self._window = 0
        self._successes = 0
        self._resume_at = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._recent: deque[bool] = deque(maxlen=max(8, 2 * self.maximum))
        """Recent outcomes: True for a 429, False for a success."""

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one of the ``limit`` places; yields the window the call starts in."""
        if self.in_flight >= self.limit or self._waiters:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter  # _wake hands this place over: in_flight already counts it
        else:
            self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self._wait_for_resume()
            yield self._window
        finally:
            self.in_flight -= 1
            self._wake()

    def _wake(self) -> None:
        """Hand free places to waiters in arrival order, one each, as the limit allows."""
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    async def _wait_for_resume(self) -> None:
        while (delay := self._resume_at - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def succeeded(self) -> None:
        self._recent.append(False)
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self._successes = 0
            self.limit += 1
            self._wake()

    def rate_limited(self, window: int, retry_after_s: float | None) -> None:
        """A 429: when they come densely, every call waits out Retry-After and the limit halves."""
        self._recent.append(True)
        limited = sum(self._recent)
        if limited < OVERLOAD_MIN or limited < OVERLOAD_SHARE * len(self._recent):
            return  # only this call waits (its own Retry-After or backoff)
        if retry_after_s:
            self._resume_at = max(self._resume_at, time.monotonic() + retry_after_s)
        if window == self._window:
            self._window += 1
            self._successes = 0
            self._recent.clear()
            self.limit = max(1, self.limit // 2)
