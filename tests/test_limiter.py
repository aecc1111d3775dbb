"""The per-provider AIMD limit: dense 429s halve it once per window, a lone one does not."""

from __future__ import annotations

import asyncio
import time

from pytest_promptcheck.limiter import AdaptiveLimit


async def hold(limit: AdaptiveLimit, seconds: float) -> int:
    async with limit.slot() as window:
        await asyncio.sleep(seconds)
        return window


def burst(
    limit: AdaptiveLimit, window: int, count: int = 5, retry_after_s: float | None = None
) -> None:
    for _ in range(count):
        limit.rate_limited(window=window, retry_after_s=retry_after_s)


def test_slots_bound_calls_in_flight() -> None:
    limit = AdaptiveLimit(3)

    async def go() -> None:
        await asyncio.gather(*(hold(limit, 0.01) for _ in range(10)))

    asyncio.run(go())
    assert limit.peak_in_flight == 3
    assert limit.in_flight == 0


def test_a_burst_of_429s_from_one_window_halves_once() -> None:
    limit = AdaptiveLimit(8)
    burst(limit, window=0)
    assert limit.limit == 4


def test_a_burst_from_a_later_window_halves_again() -> None:
    limit = AdaptiveLimit(8)
    burst(limit, window=0)
    burst(limit, window=1)
    assert limit.limit == 2


def test_a_lone_429_among_successes_keeps_the_limit() -> None:
    """Random throttling is a fault of one call, not a sign of load."""
    limit = AdaptiveLimit(16)
    for window in range(10):
        for _ in range(6):
            limit.succeeded()
        limit.rate_limited(window=window, retry_after_s=None)
    assert limit.limit == 16


def test_the_limit_never_drops_below_one() -> None:
    limit = AdaptiveLimit(2)
    for window in range(5):
        burst(limit, window=window)
    assert limit.limit == 1


def test_successes_win_the_limit_back_one_step_per_round() -> None:
    limit = AdaptiveLimit(8)
    burst(limit, window=0)
    for _ in range(3):
        limit.succeeded()
    assert limit.limit == 4
    limit.succeeded()
    assert limit.limit == 5


def test_the_limit_does_not_grow_past_its_maximum() -> None:
    limit = AdaptiveLimit(2)
    for _ in range(10):
        limit.succeeded()
    assert limit.limit == 2


def test_retry_after_from_dense_429s_pauses_new_calls() -> None:
    limit = AdaptiveLimit(4)
    burst(limit, window=0, retry_after_s=0.2)
    started = time.monotonic()
    asyncio.run(hold(limit, 0))
    assert time.monotonic() - started >= 0.19


def test_retry_after_from_a_lone_429_pauses_no_other_call() -> None:
    limit = AdaptiveLimit(4)
    for _ in range(8):
        limit.succeeded()
    limit.rate_limited(window=0, retry_after_s=30)
    asyncio.run(asyncio.wait_for(hold(limit, 0), 1))
