"""Per-provider concurrency that adapts to rate limits (AIMD) and honours Retry-After."""

from __future__ import annotations

import asyncio
import time
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
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one of the ``limit`` places; yields the window the call starts in."""
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self._wait_for_resume()
            yield self._window
        finally:
            async with changed:
                self.in_flight -= 1
                changed.notify_all()

    async def _wait_for_resume(self) -> None:
        while (delay := self._resume_at - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def succeeded(self) -> None:
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self._successes = 0
            self.limit += 1

    def rate_limited(self, window: int, retry_after_s: float | None) -> None:
        if retry_after_s:
            self._resume_at = max(self._resume_at, time.monotonic() + retry_after_s)
        if window == self._window:
            self._window += 1
            self._successes = 0
            self.limit = max(1, self.limit // 2)
