"""Per-provider concurrency that adapts to rate limits (AIMD) and honours Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class AdaptiveLimit:
    """At most ``limit`` calls in flight; a 429 halves the limit, successes win it back.

    The limit is cut once per window: a 429 from a call that started before the last cut
    says nothing new, so a burst of 429s halves once, not down to 1. After a cut the limit
    grows by one for every ``limit`` successes (additive increase), up to ``maximum``.
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
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self._successes = 0
            self.limit += 1
            self._wake()

    def rate_limited(self, window: int, retry_after_s: float | None) -> None:
        if retry_after_s:
            self._resume_at = max(self._resume_at, time.monotonic() + retry_after_s)
        if window == self._window:
            self._window += 1
            self._successes = 0
            self.limit = max(1, self.limit // 2)
