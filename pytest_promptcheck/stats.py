"""Statistics for sampled cases: intervals, drift tests, multiple testing and pass@k
(how large a drop a run can detect is in power.py).

A sampled case runs its prompt n times and counts the passes. Comparing a run with its baseline
is a 2x2 table (passed / failed x baseline / run). A drop is tested with a one-sided mid-p Fisher
exact test: conditional on the total passes, the run's pass count is hypergeometric under "no
change". Mid-p (half the probability of the observed table) is used because plain Fisher is
conservative on tables this small: its real size is well below alpha, so it misses real drops.
The p-values of every sampled case in a run are then adjusted with Benjamini-Hochberg, so a
suite of 100 cases does not call noise a regression five times per run.

Everything is exact and pure standard library: binomial coefficients are integers, and the
power figures sum binomial probabilities over every possible outcome instead of simulating.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from functools import lru_cache
from statistics import NormalDist

# A p-value table holds (base_n + 1) x (new_n + 1) floats; this bounds the memory of the cache.
_TABLE_CACHE_SIZE = 32


# interval


def wilson_interval(passed: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a pass rate of passed / n; (0.0, 1.0) when there is no sample."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n == 0:
        return 0.0, 1.0
    _check_counts(passed, n)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rate = passed / n
    spread = z * z / n
    centre = (rate + spread / 2) / (1 + spread)
    half_width = z / (1 + spread) * math.sqrt(rate * (1 - rate) / n + spread / (4 * n))
    # At 0 or n passes the bound is exactly 0 or 1, which rounding misses by a hair.
    low = 0.0 if passed == 0 else centre - half_width
    high = 1.0 if passed == n else centre + half_width
    return low, high


# tests of a change in pass rate


def regression_p_value(base_passed: int, base_n: int, new_passed: int, new_n: int) -> float:
    """One-sided mid-p Fisher test that the new pass rate is lower than the baseline's.

    p = P(X < x) + P(X = x) / 2, X the new run's passes given the total passes (hypergeometric).
    """
    below, at, total = _tail_weights(base_passed, base_n, new_passed, new_n)
    return (2 * below + at) / (2 * total)


def improvement_p_value(base_passed: int, base_n: int, new_passed: int, new_n: int) -> float:
    """One-sided mid-p Fisher test that the new pass rate is higher than the baseline's."""
    # Swapping the runs turns "new is higher" into "baseline is lower".
    return regression_p_value(new_passed, new_n, base_passed, base_n)


def regression_p_floor(base_passed: int, base_n: int, new_passed: int, new_n: int) -> float:
    """The smallest regression p-value the table's margins allow (the run passing as few times
    as the total passes permit). It depends on the margins only, which is what lets Tarone's
    screening drop cases that could never be significant without spending alpha on them."""
    _check_counts(base_passed, base_n)
    _check_counts(new_passed, new_n)
    total = base_passed + new_passed
    lowest = _lowest_new_passes(base_n, total)
    return regression_p_value(total - lowest, base_n, lowest, new_n)


def improvement_p_floor(base_passed: int, base_n: int, new_passed: int, new_n: int) -> float:
    """The smallest improvement p-value the table's margins allow."""
    return regression_p_floor(new_passed, new_n, base_passed, base_n)


def fisher_regression_p_value(base_passed: int, base_n: int, new_passed: int, new_n: int) -> float:
    """Plain one-sided Fisher p, P(X <= x): the conservative test that mid-p replaces."""
    below, at, total = _tail_weights(base_passed, base_n, new_passed, new_n)
    return (below + at) / total


def _tail_weights(
    base_passed: int, base_n: int, new_passed: int, new_n: int
) -> tuple[int, int, int]:
    """Integer weights of X < x, X = x and of all outcomes; each over the same denominator."""
    _check_counts(base_passed, base_n)
    _check_counts(new_passed, new_n)
    weights = _hypergeometric_weights(base_n, new_n, base_passed + new_passed)
    lowest = _lowest_new_passes(base_n, base_passed + new_passed)
    offset = new_passed - lowest
    return sum(weights[:offset]), weights[offset], sum(weights)


def _hypergeometric_weights(base_n: int, new_n: int, total_passed: int) -> list[int]:
    """C(new_n, x) * C(base_n, t - x) for every feasible x, lowest first (sum: C(N, t))."""
    lowest = _lowest_new_passes(base_n, total_passed)
    highest = min(new_n, total_passed)
    new_row, base_row = _binomial_row(new_n), _binomial_row(base_n)
    return [new_row[x] * base_row[total_passed - x] for x in range(lowest, highest + 1)]


@lru_cache(maxsize=_TABLE_CACHE_SIZE)
def _binomial_row(n: int) -> tuple[int, ...]:
    """C(n, k) for k = 0..n, exact."""
    return tuple(math.comb(n, k) for k in range(n + 1))


def _lowest_new_passes(base_n: int, total_passed: int) -> int:
    return max(0, total_passed - base_n)


def _check_counts(passed: int, n: int) -> None:
    if n < 0 or not 0 <= passed <= n:
        raise ValueError(f"passed must be between 0 and n, got passed={passed}, n={n}")


@lru_cache(maxsize=_TABLE_CACHE_SIZE)
def _regression_p_table(base_n: int, new_n: int) -> tuple[tuple[float, ...], ...]:
    """regression_p_value for every outcome: table[base_passed][new_passed].

    One pass over the totals: the hypergeometric weights of a total serve every table with it.
    """
    table = [[1.0] * (new_n + 1) for _ in range(base_n + 1)]
    for total_passed in range(base_n + new_n + 1):
        weights = _hypergeometric_weights(base_n, new_n, total_passed)
        denominator = 2 * sum(weights)
        below = 0
        lowest = _lowest_new_passes(base_n, total_passed)
        for offset, weight in enumerate(weights):
            new_passed = lowest + offset
            table[total_passed - new_passed][new_passed] = (2 * below + weight) / denominator
            below += weight
    return tuple(tuple(row) for row in table)


@lru_cache(maxsize=4 * _TABLE_CACHE_SIZE)
def rejected_outcomes(
    base_n: int, new_n: int, alpha: float
) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(base_passed, new_passed values) of the outcomes the regression test calls at alpha."""
    table = _regression_p_table(base_n, new_n)
    rows = ((b, tuple(x for x, p in enumerate(row) if p < alpha)) for b, row in enumerate(table))
    return tuple((b, xs) for b, xs in rows if xs)


# multiple testing


def benjamini_hochberg(p_values: Sequence[float], tests: int | None = None) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    A case is called at false discovery rate alpha when its adjusted p is below alpha. `tests`
    (at least the number of p-values) is the family size the p-values are scaled by.
    """
    count = len(p_values)
    family = count if tests is None else tests
    if family < count:
        raise ValueError(f"tests must be at least the number of p-values ({count}), got {tests}")
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [1.0] * count
    running_min = 1.0
    # Step-up: walk from the largest p down, so each q is the minimum over its rank and above.
    for rank in range(count, 0, -1):
        index = order[rank - 1]
        running_min = min(running_min, p_values[index] * family / rank)
        adjusted[index] = running_min
    return adjusted


def tarone_family(p_floors: Sequence[float], alpha: float) -> int:
    """The smallest K such that at most K of the cases could reach a p-value of alpha / K."""
    floors = sorted(p_floors)
    family = 1
    while family < len(floors) and bisect.bisect_right(floors, alpha / family) > family:
        family += 1
    return family


def discrete_benjamini_hochberg(
    p_values: Sequence[float], p_floors: Sequence[float], alpha: float
) -> list[float]:
    """Benjamini-Hochberg after Tarone's screening, for discrete tests (Gilbert 2005).

    A case whose margins make its smallest possible p-value larger than alpha / K can never be
    called, so it need not count in the family: K is the smallest number such that at most K
    cases could reach alpha / K, and BH runs over those cases with K as the family size. The
    others get 1.0. At n = 20 most unchanged cases at a high pass rate cannot reach a small
    threshold, so this recovers much of the power that plain BH over every case spends on them.
    """
    count = len(p_values)
    if len(p_floors) != count:
        raise ValueError("p_values and p_floors must have the same length")
    family = tarone_family(p_floors, alpha)
    testable = [i for i in range(count) if p_floors[i] <= alpha / family]
    adjusted = [1.0] * count
    scaled = benjamini_hochberg([p_values[i] for i in testable], tests=max(family, len(testable)))
    for index, q_value in zip(testable, scaled, strict=True):
        adjusted[index] = q_value
    return adjusted


# pass@k


def pass_at_k(n: int, passed: int, k: int) -> float:
    """Unbiased estimate that at least one of k samples passes: 1 - C(n-c, k) / C(n, k).

    Chen et al. 2021, "Evaluating Large Language Models Trained on Code".
    """
    _check_k(n, passed, k)
    return 1 - math.comb(n - passed, k) / math.comb(n, k)


def pass_hat_k(n: int, passed: int, k: int) -> float:
    """Unbiased estimate that all k samples pass: C(c, k) / C(n, k) (tau-bench's pass^k)."""
    _check_k(n, passed, k)
    return math.comb(passed, k) / math.comb(n, k)


def _check_k(n: int, passed: int, k: int) -> None:
    _check_counts(passed, n)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of samples n={n}, got k={k}")
