"""Statistics for sampled cases: exact figures against references worked out by hand or known."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from pytest_promptcheck.power import (
    detection_power,
    samples_needed,
    smallest_detectable_drop,
)
from pytest_promptcheck.stats import (
    benjamini_hochberg,
    discrete_benjamini_hochberg,
    fisher_regression_p_value,
    improvement_p_floor,
    improvement_p_value,
    pass_at_k,
    pass_hat_k,
    regression_p_floor,
    regression_p_value,
    tarone_family,
    wilson_interval,
)


def binomial(n: int, rate: float, k: int) -> float:
    return math.comb(n, k) * rate**k * (1 - rate) ** (n - k)


def fisher_power(base_rate: float, new_rate: float, n: int, alpha: float) -> float:
    """Power of the plain Fisher test, summed over every outcome like detection_power."""
    return sum(
        binomial(n, base_rate, b) * binomial(n, new_rate, x)
        for b in range(n + 1)
        for x in range(n + 1)
        if fisher_regression_p_value(b, n, x, n) < alpha
    )


# Wilson interval


def test_wilson_interval_of_8_of_10() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_interval_at_99_percent_is_wider() -> None:
    low95, high95 = wilson_interval(8, 10)
    low99, high99 = wilson_interval(8, 10, confidence=0.99)
    assert low99 < low95 and high99 > high95


def test_wilson_interval_at_the_edges_stays_in_0_1() -> None:
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    # Hand worked: at 0 of n the upper bound is z^2 / (n + z^2).
    z = 1.959963984540054
    assert wilson_interval(0, 10)[1] == pytest.approx(z * z / (10 + z * z))


def test_wilson_interval_without_samples_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="passed"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.0)


# Fisher and mid-p


def test_fisher_lady_tasting_tea() -> None:
    # 3 of 4 vs 1 of 4 given 4 passes in all: P(X <= 1) = (1 + 16) / 70.
    assert fisher_regression_p_value(3, 4, 1, 4) == pytest.approx(17 / 70)
    assert fisher_regression_p_value(3, 4, 1, 4) == pytest.approx(0.2429, abs=1e-4)


def test_mid_p_lady_tasting_tea_by_hand() -> None:
    # Weights C(4, x) C(4, 4 - x) for x = 0..4: 1, 16, 36, 16, 1 (sum 70).
    # mid-p = P(X < 1) + P(X = 1) / 2 = (1 + 16 / 2) / 70.
    assert regression_p_value(3, 4, 1, 4) == pytest.approx(9 / 70)


def test_mid_p_of_an_unequal_table_by_hand() -> None:
    # Baseline 9/10, run 4/8: 13 passes of 18; X (run's passes) is 3..8.
    weights = {x: math.comb(8, x) * math.comb(10, 13 - x) for x in range(3, 9)}
    total = sum(weights.values())
    assert total == math.comb(18, 13)
    expected = Fraction(weights[3], total) + Fraction(weights[4], 2 * total)
    assert regression_p_value(9, 10, 4, 8) == pytest.approx(float(expected), rel=1e-12)
    fisher = Fraction(weights[3] + weights[4], total)
    assert fisher_regression_p_value(9, 10, 4, 8) == pytest.approx(float(fisher), rel=1e-12)


def test_mid_p_is_below_fisher_by_half_the_observed_table() -> None:
    for counts in [(18, 20, 12, 20), (9, 10, 4, 8), (3, 4, 1, 4), (20, 20, 19, 20)]:
        difference = fisher_regression_p_value(*counts) - regression_p_value(*counts)
        assert difference > 0


def test_unchanged_case_is_not_evidence_of_a_regression() -> None:
    assert regression_p_value(18, 20, 18, 20) >= 0.5
    assert improvement_p_value(18, 20, 18, 20) >= 0.5
    assert regression_p_value(20, 20, 20, 20) == 0.5


def test_a_clear_drop_is_significant_and_a_rise_is_not() -> None:
    assert regression_p_value(18, 20, 8, 20) < 0.001
    assert regression_p_value(8, 20, 18, 20) > 0.999


@pytest.mark.parametrize("counts", [(18, 20, 12, 20), (9, 10, 4, 8), (5, 5, 0, 3), (0, 7, 2, 2)])
def test_improvement_and_regression_are_mirror_images(counts: tuple[int, int, int, int]) -> None:
    base_passed, base_n, new_passed, new_n = counts
    up = improvement_p_value(base_passed, base_n, new_passed, new_n)
    assert up == pytest.approx(regression_p_value(new_passed, new_n, base_passed, base_n))
    # Mid-p tails add up to 1: P(X < x) + P(X > x) + P(X = x).
    assert up + regression_p_value(base_passed, base_n, new_passed, new_n) == pytest.approx(1.0)


def test_p_values_reject_impossible_counts() -> None:
    with pytest.raises(ValueError, match="passed"):
        regression_p_value(21, 20, 5, 20)
    with pytest.raises(ValueError, match="passed"):
        improvement_p_value(5, 20, -1, 20)


# Benjamini-Hochberg


def test_benjamini_hochberg_hand_worked() -> None:
    # Sorted: 0.005 x 4/1, 0.01 x 4/2, 0.03 x 4/3, 0.04 x 4/4 -> 0.02, 0.02, 0.04, 0.04.
    adjusted = benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_benjamini_hochberg_is_monotone_in_the_raw_p() -> None:
    # 0.04 x 5/4 = 0.05 is above 0.045 x 5/5: the step-up takes the smaller one.
    raw = [0.045, 0.001, 0.04, 0.5, 0.02]
    adjusted = benjamini_hochberg(raw)
    assert adjusted == pytest.approx([0.05625, 0.005, 0.05625, 0.5, 0.05])
    by_raw = [q for _, q in sorted(zip(raw, adjusted, strict=True))]
    assert by_raw == sorted(by_raw)


def test_benjamini_hochberg_scales_by_a_given_family_size() -> None:
    assert benjamini_hochberg([0.01, 0.02], tests=4) == pytest.approx([0.04, 0.04])
    with pytest.raises(ValueError, match="at least the number"):
        benjamini_hochberg([0.01, 0.02, 0.03], tests=2)


def test_p_floor_is_the_most_extreme_table_with_the_same_margins() -> None:
    # 36 passes of 40: the run can pass no fewer than 16 times. By hand: P(X = 16) =
    # C(20,16) C(20,20) / C(40,36) = 4845 / 91390, and mid-p halves it.
    assert regression_p_floor(18, 20, 18, 20) == pytest.approx(4845 / 91390 / 2)
    assert regression_p_floor(18, 20, 18, 20) == regression_p_value(20, 20, 16, 20)
    assert regression_p_floor(20, 20, 0, 20) == regression_p_value(20, 20, 0, 20)
    assert improvement_p_floor(18, 20, 18, 20) == regression_p_floor(18, 20, 18, 20)
    # all passed on both sides: nothing could ever be called
    assert regression_p_floor(20, 20, 20, 20) == pytest.approx(0.5)


def test_tarone_family_counts_only_cases_that_could_reach_alpha_over_k() -> None:
    assert tarone_family([], 0.05) == 1
    assert tarone_family([0.5] * 100, 0.05) == 1
    assert tarone_family([0.0001] * 3 + [0.03] * 97, 0.05) == 3
    assert tarone_family([0.0001] * 100, 0.05) == 100


def test_discrete_bh_spends_nothing_on_cases_that_cannot_be_significant() -> None:
    p_values = [0.001, 0.6, 0.7, 0.8]
    floors = [0.00001, 0.2, 0.2, 0.2]
    plain = benjamini_hochberg(p_values)
    discrete = discrete_benjamini_hochberg(p_values, floors, 0.05)
    assert plain[0] == pytest.approx(0.004)
    assert discrete == pytest.approx([0.001, 1.0, 1.0, 1.0])
    # when every case could reach significance, it is plain BH
    assert discrete_benjamini_hochberg(p_values, [0.0] * 4, 0.05) == pytest.approx(plain)


def test_benjamini_hochberg_caps_at_one_and_keeps_edges() -> None:
    assert benjamini_hochberg([0.9, 0.95, 1.0]) == pytest.approx([1.0, 1.0, 1.0])
    assert benjamini_hochberg([0.3]) == [0.3]
    assert benjamini_hochberg([]) == []


def test_benjamini_hochberg_ties() -> None:
    assert benjamini_hochberg([0.02, 0.02]) == pytest.approx([0.02, 0.02])


# pass@k and pass^k


def test_pass_at_k_known_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    # 1 - C(7, 2) / C(10, 2) = 1 - 21 / 45.
    assert pass_at_k(10, 3, 2) == pytest.approx(24 / 45)
    assert pass_at_k(10, 3, 8) == 1.0  # fewer than 8 failures: some pass in any 8
    assert pass_at_k(10, 0, 10) == 0.0


def test_pass_hat_k_known_values() -> None:
    assert pass_hat_k(10, 3, 1) == pytest.approx(0.3)
    # C(8, 2) / C(10, 2) = 28 / 45.
    assert pass_hat_k(10, 8, 2) == pytest.approx(28 / 45)
    assert pass_hat_k(10, 8, 9) == 0.0
    assert pass_hat_k(10, 10, 10) == 1.0


def test_pass_at_k_and_pass_hat_k_agree_at_k_1_and_order_beyond() -> None:
    for k in range(2, 11):
        assert pass_hat_k(10, 7, k) < 0.7 < pass_at_k(10, 7, k)


@pytest.mark.parametrize("k", [0, -1, 11])
def test_pass_at_k_rejects_k_outside_1_to_n(k: int) -> None:
    with pytest.raises(ValueError, match="k must be between 1"):
        pass_at_k(10, 3, k)
    with pytest.raises(ValueError, match="k must be between 1"):
        pass_hat_k(10, 3, k)


def test_pass_at_k_rejects_more_passes_than_samples() -> None:
    with pytest.raises(ValueError, match="passed"):
        pass_at_k(10, 11, 1)


# exact power


@pytest.mark.parametrize(
    ("new_rate", "mid_p", "fisher"),
    [(0.6, 0.707, 0.619), (0.5, 0.888, 0.837), (0.3, 0.995, 0.990)],
)
def test_detection_power_20_vs_20_against_reference(
    new_rate: float, mid_p: float, fisher: float
) -> None:
    assert detection_power(0.9, new_rate, 20, 20, 0.05) == pytest.approx(mid_p, abs=0.001)
    assert fisher_power(0.9, new_rate, 20, 0.05) == pytest.approx(fisher, abs=0.001)


def test_mid_p_keeps_its_size_near_alpha_where_fisher_is_conservative() -> None:
    # No change at 0.9: the chance of a false call is the test's real size.
    mid_p_size = detection_power(0.9, 0.9, 20, 20, 0.05)
    fisher_size = fisher_power(0.9, 0.9, 20, 0.05)
    assert fisher_size < mid_p_size <= 0.05
    assert fisher_size < 0.025


def test_detection_power_without_a_drop_is_at_most_alpha() -> None:
    for rate in (0.5, 0.7, 0.95):
        assert detection_power(rate, rate, 20, 20, 0.05) <= 0.05


def test_detection_power_matches_a_sum_over_outcomes() -> None:
    expected = sum(
        binomial(8, 0.8, b) * binomial(6, 0.4, x)
        for b in range(9)
        for x in range(7)
        if regression_p_value(b, 8, x, 6) < 0.1
    )
    assert detection_power(0.8, 0.4, 8, 6, 0.1) == pytest.approx(expected, rel=1e-12)


def test_detection_power_grows_with_the_drop() -> None:
    powers = [detection_power(0.9, 0.9 - d / 10, 20, 20, 0.05) for d in range(10)]
    assert powers == sorted(powers)


def test_detection_power_at_certain_rates() -> None:
    # 20/20 vs 0/20 always: p = C(20,0)C(20,20) / (2 C(40,20)), tiny.
    assert detection_power(1.0, 0.0, 20, 20, 0.05) == 1.0
    assert detection_power(1.0, 1.0, 20, 20, 0.05) == 0.0


def test_rejection_region_is_a_lower_set_of_new_passes() -> None:
    # smallest_detectable_drop's bisection relies on it.
    for base_passed in range(21):
        called = [regression_p_value(base_passed, 20, x, 20) < 0.01 for x in range(21)]
        assert called == sorted(called, reverse=True)


# planning


def test_smallest_detectable_drop_20_vs_20() -> None:
    alone = smallest_detectable_drop(0.9, 20, 20, 0.05)
    among_100 = smallest_detectable_drop(0.9, 20, 20, 0.05, tests=100)
    assert (alone, among_100) == (0.35, 0.62)
    # On the grid: the found drop reaches 80% power and 0.01 less does not.
    level = 0.05 / 100
    assert detection_power(0.9, 0.9 - 0.62, 20, 20, level) >= 0.8
    assert detection_power(0.9, 0.9 - 0.61, 20, 20, level) < 0.8


def test_smallest_detectable_drop_shrinks_with_more_samples() -> None:
    drops = [smallest_detectable_drop(0.9, n, n, 0.05) for n in (10, 20, 50)]
    assert drops == [0.51, 0.35, 0.2]


def test_smallest_detectable_drop_none_when_even_zero_is_not_enough() -> None:
    assert smallest_detectable_drop(0.9, 2, 2, 0.05, tests=100) is None
    assert smallest_detectable_drop(0.0, 20, 20, 0.05) is None


def test_samples_needed_reaches_the_power_and_one_fewer_does_not() -> None:
    needed = samples_needed(0.9, 0.2, 0.05, tests=100)
    assert needed is not None
    assert detection_power(0.9, 0.7, needed, needed, 0.0005) >= 0.8
    assert detection_power(0.9, 0.7, needed - 1, needed - 1, 0.0005) < 0.8


def test_samples_needed_more_for_smaller_drops_and_more_tests() -> None:
    by_drop = [samples_needed(0.9, drop, 0.05) for drop in (0.5, 0.3, 0.2, 0.1)]
    assert by_drop == [12, 26, 49, 157]
    assert samples_needed(0.9, 0.2, 0.05, tests=100) == 132


def test_samples_needed_agrees_with_smallest_detectable_drop() -> None:
    drop = smallest_detectable_drop(0.9, 20, 20, 0.05, tests=100)
    assert drop is not None
    needed = samples_needed(0.9, drop, 0.05, tests=100)
    assert needed is not None and needed <= 20


def test_samples_needed_none_beyond_the_limit_or_without_a_drop() -> None:
    assert samples_needed(0.9, 0.01, 0.05, tests=100, limit=50) is None
    assert samples_needed(0.9, 0.0, 0.05) is None
    assert samples_needed(0.0, 0.2, 0.05) is None


def test_samples_needed_treats_a_drop_past_zero_as_a_drop_to_zero() -> None:
    assert samples_needed(0.15, 0.2, 0.05) == samples_needed(0.15, 0.15, 0.05)
    assert samples_needed(0.15, 0.2, 0.05) is not None


def test_samples_needed_stops_at_the_limit_between_doublings() -> None:
    # 0.9 -> 0.7 alone needs 49 samples; 49 and 60 are not powers of 2 (the doubling caps).
    assert samples_needed(0.9, 0.2, 0.05, limit=40) is None
    assert samples_needed(0.9, 0.2, 0.05, limit=49) == 49
    assert samples_needed(0.9, 0.2, 0.05, limit=60) == 49


def test_planning_rejects_zero_tests() -> None:
    with pytest.raises(ValueError, match="tests"):
        samples_needed(0.9, 0.2, 0.05, tests=0)
    with pytest.raises(ValueError, match="tests"):
        smallest_detectable_drop(0.9, 20, 20, 0.05, tests=0)
