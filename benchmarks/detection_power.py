"""Simulated detection power of the drift test: mid-p Fisher per case, Benjamini-Hochberg per run.

Run: python benchmarks/detection_power.py [--runs N] [--seed S]

Each run samples 100 cases n = 20 times in the baseline and n = 20 times in the new run (pass
rate 0.9 unless the scenario drops it), tests every case with regression_p_value, adjusts across
the 100 cases with benjamini_hochberg and calls a regression where the adjusted p < 0.05. Prints
a Markdown table of measured rates against targets; exits 1 if a target is missed. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_promptcheck.stats import (  # noqa: E402
    benjamini_hochberg,
    detection_power,
    regression_p_value,
    samples_needed,
    smallest_detectable_drop,
)

CASES = 100
SAMPLES = 20
BASE_RATE = 0.9
ALPHA = 0.05
DEFAULT_RUNS = 10_000  # 95% intervals of about +-1 point; 4 x 10,000 runs take seconds
DEFAULT_SEED = 20261121


@dataclass(frozen=True)
class Scenario:
    """`dropped` cases fall from BASE_RATE to `new_rate`; the others stay at BASE_RATE."""

    name: str
    dropped: int
    new_rate: float
    target: float
    at_most: bool  # the target is a ceiling (false calls), not a floor (power)

    @property
    def target_text(self) -> str:
        return f"{'<=' if self.at_most else '>='} {self.target:.0%}"

    def met(self, rate: float) -> bool:
        return rate <= self.target if self.at_most else rate >= self.target

    def ideal(self) -> float | None:
        """Exact power of a dropped case at alpha k / m: BH's threshold when k cases are called.

        The ceiling of the rate when about all k dropped cases are called (and no other case);
        when only some are, BH's threshold is lower and so is the rate.
        """
        if self.dropped == 0:
            return None
        level = ALPHA * self.dropped / CASES
        return detection_power(BASE_RATE, self.new_rate, SAMPLES, SAMPLES, level)


SCENARIOS = (
    Scenario("no case changed: runs with any regression called", 0, BASE_RATE, 0.05, True),
    Scenario("1 case 0.9 -> 0.3: runs where it is called", 1, 0.3, 0.70, False),
    Scenario("10 cases 0.9 -> 0.3: per-case call rate", 10, 0.3, 0.90, False),
    Scenario("10 cases 0.9 -> 0.5: per-case call rate", 10, 0.5, 0.50, False),
)


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    rate: float
    margin: float  # half-width of a 95% interval, from the spread between runs
    false_calls_per_run: float
    runs_with_false_call: float
    seconds: float


# sampling


class BinomialSampler:
    """Draws Binomial(n, rate) by inverting its cumulative distribution: one uniform per draw."""

    def __init__(self, n: int, rate: float) -> None:
        pmf = [math.comb(n, k) * rate**k * (1 - rate) ** (n - k) for k in range(n + 1)]
        self._cdf = list(itertools.accumulate(pmf))
        self._cdf[-1] = 1.0  # a sum of floats can end a hair below 1

    def draw(self, rng: random.Random) -> int:
        return bisect.bisect_right(self._cdf, rng.random())


def p_value_table(n: int) -> list[list[float]]:
    """regression_p_value(base, n, new, n) for every pair of counts: 21 x 21 at n = 20."""
    return [[regression_p_value(b, n, x, n) for x in range(n + 1)] for b in range(n + 1)]


# one scenario


def simulate(scenario: Scenario, runs: int, seed: int, table: list[list[float]]) -> Outcome:
    # A string seed gives every scenario its own stream, the same on every machine and run.
    rng = random.Random(f"{seed}:{scenario.name}")
    baseline = BinomialSampler(SAMPLES, BASE_RATE)
    dropped = BinomialSampler(SAMPLES, scenario.new_rate)
    started = time.perf_counter()
    per_run: list[float] = []
    false_calls: list[int] = []
    for _ in range(runs):
        called = called_cases(rng, scenario.dropped, baseline, dropped, table)
        false_calls.append(sum(called[scenario.dropped :]))
        if scenario.dropped == 0:
            per_run.append(float(false_calls[-1] > 0))
        else:
            per_run.append(sum(called[: scenario.dropped]) / scenario.dropped)
    # Cases of one run share BH's threshold, so the error comes from the spread between runs.
    margin = 1.96 * statistics.stdev(per_run) / math.sqrt(runs) if runs > 1 else math.nan
    return Outcome(
        scenario=scenario,
        rate=statistics.fmean(per_run),
        margin=margin,
        false_calls_per_run=statistics.fmean(false_calls),
        runs_with_false_call=statistics.fmean(float(count > 0) for count in false_calls),
        seconds=time.perf_counter() - started,
    )


def called_cases(
    rng: random.Random,
    dropped: int,
    baseline: BinomialSampler,
    new_dropped: BinomialSampler,
    table: list[list[float]],
) -> list[bool]:
    """Whether each of the run's cases is called a regression; the dropped ones come first."""
    p_values = []
    for case in range(CASES):
        new = new_dropped if case < dropped else baseline
        p_values.append(table[baseline.draw(rng)][new.draw(rng)])
    return [q < ALPHA for q in benjamini_hochberg(p_values)]


# report


def report(outcomes: Sequence[Outcome], runs: int, seed: int) -> list[str]:
    lines = [
        "| scenario | measured (95% interval) | target | met | exact power at alpha k/m "
        "| false calls among unchanged cases | runs | seed | time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for outcome in outcomes:
        scenario = outcome.scenario
        ideal = scenario.ideal()
        lines.append(
            f"| {scenario.name} | {outcome.rate:.1%} (± {outcome.margin:.1%}) | "
            f"{scenario.target_text} | {'yes' if scenario.met(outcome.rate) else 'NO'} | "
            f"{'-' if ideal is None else f'{ideal:.1%}'} | "
            f"{outcome.false_calls_per_run:.3f} per run, in {outcome.runs_with_false_call:.1%} "
            f"of runs | {runs} | {seed} | {outcome.seconds:.1f} s |"
        )
    return lines


def context_lines() -> list[str]:
    started = time.perf_counter()
    drop = smallest_detectable_drop(BASE_RATE, SAMPLES, SAMPLES, ALPHA, tests=CASES)
    needed = samples_needed(BASE_RATE, 0.2, ALPHA, tests=CASES)
    seconds = time.perf_counter() - started
    return [
        f"smallest_detectable_drop({BASE_RATE}, {SAMPLES}, {SAMPLES}, {ALPHA}, tests={CASES}) "
        f"= {drop}",
        f"samples_needed({BASE_RATE}, 0.2, {ALPHA}, tests={CASES}) = {needed}",
        f"(both computed exactly in {seconds:.2f} s)",
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs per scenario")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    table = p_value_table(SAMPLES)
    outcomes = [simulate(scenario, args.runs, args.seed, table) for scenario in SCENARIOS]
    print(
        f"# {CASES} cases per run, n = {SAMPLES} samples per case in the baseline and in the "
        f"run, baseline rate {BASE_RATE}, BH-adjusted p < {ALPHA}"
    )
    print()
    for line in report(outcomes, args.runs, args.seed):
        print(line)
    print()
    for line in context_lines():
        print(line)
    print(f"Total {time.perf_counter() - started:.1f} s")
    return 0 if all(o.scenario.met(o.rate) for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
