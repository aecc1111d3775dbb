"""Power: how likely the drift test is to call a given drop, the smallest drop a run's sample
sizes can detect, and how many samples a wanted drop needs. Exact sums over every outcome of
the binomials, never simulation, like the tests they describe (stats.py)."""

from __future__ import annotations

import math

from pytest_promptcheck.stats import rejected_outcomes

DROP_GRID = 0.01


def detection_power(
    base_rate: float, new_rate: float, base_n: int, new_n: int, alpha: float
) -> float:
    """Exact probability that the mid-p regression test calls a drop base_rate -> new_rate.

    The sum of the binomial probabilities of every (base_passed, new_passed) it calls at alpha.
    """
    base_probabilities = _binomial_pmf(base_n, base_rate)
    new_probabilities = _binomial_pmf(new_n, new_rate)
    return math.fsum(
        base_probabilities[b] * math.fsum(new_probabilities[x] for x in xs)
        for b, xs in rejected_outcomes(base_n, new_n, alpha)
    )


def smallest_detectable_drop(
    base_rate: float,
    base_n: int,
    new_n: int,
    alpha: float,
    tests: int = 1,
    power: float = 0.8,
) -> float | None:
    """Smallest drop (on a grid of 0.01) detected with the given power; None if none is.

    A lone change among `tests` Benjamini-Hochberg adjusted tests is called when its raw p is
    below alpha / tests, so that is the level its power is computed at.
    """
    level = _per_test_level(alpha, tests)
    steps = math.floor(base_rate / DROP_GRID + 1e-9)
    drops = [round(step * DROP_GRID, 2) for step in range(1, steps + 1)]
    if not drops or _drop_power(base_rate, drops[-1], base_n, new_n, level) < power:
        return None
    # Power grows with the drop: the test calls a lower set of new pass counts for each
    # baseline count, and a lower new rate puts more probability on lower counts.
    low, high = 0, len(drops) - 1
    while low < high:
        middle = (low + high) // 2
        if _drop_power(base_rate, drops[middle], base_n, new_n, level) >= power:
            high = middle
        else:
            low = middle + 1
    return drops[low]


def samples_needed(
    base_rate: float,
    drop: float,
    alpha: float,
    tests: int = 1,
    power: float = 0.8,
    limit: int = 500,
) -> int | None:
    """Samples per case (baseline and run alike) to detect the drop with the given power.

    A drop past a rate of 0 is a drop to 0. None when `limit` samples are not enough.

    Power is not exactly monotone in n (the test is discrete, so it saw-tooths by a point or
    so), but close enough for advice: the search doubles n until the power is reached, then
    bisects, and returns an n that reaches it whose predecessor in the bisection does not.
    Rarely a slightly smaller n reaches it too.
    """
    level = _per_test_level(alpha, tests)
    if drop <= 0 or base_rate <= 0:
        return None  # no drop to detect

    def reaches(n: int) -> bool:
        return _drop_power(base_rate, drop, n, n, level) >= power

    low, high = 0, 1  # low does not reach the power (0 samples cannot)
    while not reaches(high):
        if high >= limit:
            return None
        low, high = high, min(2 * high, limit)
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def _per_test_level(alpha: float, tests: int) -> float:
    if tests < 1:
        raise ValueError(f"tests must be at least 1, got {tests}")
    return alpha / tests


def _drop_power(base_rate: float, drop: float, base_n: int, new_n: int, alpha: float) -> float:
    return detection_power(base_rate, max(0.0, base_rate - drop), base_n, new_n, alpha)


def _binomial_pmf(n: int, rate: float) -> list[float]:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"a pass rate must be between 0 and 1, got {rate}")
    if rate in (0.0, 1.0):
        certain = 0 if rate == 0.0 else n
        return [1.0 if k == certain else 0.0 for k in range(n + 1)]
    # Logarithms: C(n, k) overflows a float beyond n of about 1000.
    log_rate, log_miss = math.log(rate), math.log1p(-rate)
    log_n = math.lgamma(n + 1)
    return [
        math.exp(
            log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_rate + (n - k) * log_miss
        )
        for k in range(n + 1)
    ]
