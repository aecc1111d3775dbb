"""The per-provider AIMD limit: halve once per window on 429, grow back one step per round."""

from __future__ import annotations

import asyncio
import time

from pytest_promptcheck.limiter import AdaptiveLimit


async def hold(limit: AdaptiveLimit, seconds: float) -> int:
    async with limit.slot() as window:
        await asyncio.sleep(seconds)
        return window


def test_slots_bound_calls_in_flight() -> None:
    limit = AdaptiveLimit(3)

    async def go() -> None:
        await asyncio.gather(*(hold(limit, 0.01) for _ in range(10)))

    asyncio.run(go())
    assert limit.peak_in_flight == 3
    assert limit.in_flight == 0


def test_a_burst_of_429s_from_one_window_halves_once() -> None:
    limit = AdaptiveLimit(8)
    for _ in range(5):
        limit.rate_limited(window=0, retry_after_s=None)
    assert limit.limit == 4


def test_a_429_from_a_later_window_halves_again() -> None:
    limit = AdaptiveLimit(8)
    limit.rate_limited(window=0, retry_after_s=None)
    limit.rate_limited(window=1, retry_after_s=None)
    assert limit.limit == 2


def test_the_limit_never_drops_below_one() -> None:
    limit = AdaptiveLimit(2)
    for window in range(5):
        limit.rate_limited(window=window, retry_after_s=None)
    assert limit.limit == 1


def test_successes_win_the_limit_back_one_step_per_round() -> None:
    limit = AdaptiveLimit(8)
    limit.rate_limited(window=0, retry_after_s=None)
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


def test_retry_after_pauses_new_calls() -> None:
    limit = AdaptiveLimit(4)
    limit.rate_limited(window=0, retry_after_s=0.2)
    started = time.monotonic()
    asyncio.run(hold(limit, 0))
    assert time.monotonic() - started >= 0.19
