"""Simulated detection power of the drift test: mid-p Fisher per case, adjusted per run.

Run: python benchmarks/detection_power.py [--runs N] [--seed S]

Each run samples 100 cases n = 20 times in the baseline and n = 20 times in the new run (pass
rate 0.9 unless the scenario drops it), tests every case with regression_p_value, and calls a
regression where the adjusted p < 0.05. Two adjustments are measured on the same draws: the
plugin's (Benjamini-Hochberg after Tarone's screening, discrete_benjamini_hochberg) and plain
Benjamini-Hochberg over all 100 cases. Prints a Markdown table of measured rates against targets;
exits 1 if the plugin's procedure misses a target. See benchmarks/README.md.
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

from pytest_promptcheck.power import (  # noqa: E402
    detection_power,
    samples_needed,
    smallest_detectable_drop,
)
from pytest_promptcheck.stats import (  # noqa: E402
    benjamini_hochberg,
    discrete_benjamini_hochberg,
    regression_p_floor,
    regression_p_value,
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
class Measured:
    """One procedure's figures over the runs of a scenario."""

    rate: float
    margin: float  # half-width of a 95% interval, from the spread between runs
    false_calls_per_run: float
    runs_with_false_call: float
    false_share: float  # false calls / all calls, over all runs: the false discovery proportion


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    plugin: Measured  # Tarone's screening, then BH
    plain: Measured  # BH over every case
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


Table = list[list[tuple[float, float]]]


def p_value_table(n: int) -> Table:
    """(regression_p_value, regression_p_floor) for every pair of counts: 21 x 21 at n = 20."""
    return [
        [(regression_p_value(b, n, x, n), regression_p_floor(b, n, x, n)) for x in range(n + 1)]
        for b in range(n + 1)
    ]


# one scenario


def simulate(scenario: Scenario, runs: int, seed: int, table: Table) -> Outcome:
    # A string seed gives every scenario its own stream, the same on every machine and run.
    rng = random.Random(f"{seed}:{scenario.name}")
    baseline = BinomialSampler(SAMPLES, BASE_RATE)
    dropped = BinomialSampler(SAMPLES, scenario.new_rate)
    started = time.perf_counter()
    plugin, plain = Tally(scenario), Tally(scenario)
    for _ in range(runs):
        p_values, floors = draw_run(rng, scenario.dropped, baseline, dropped, table)
        plugin.add([q < ALPHA for q in discrete_benjamini_hochberg(p_values, floors, ALPHA)])
        plain.add([q < ALPHA for q in benjamini_hochberg(p_values)])
    return Outcome(scenario, plugin.measured(), plain.measured(), time.perf_counter() - started)


class Tally:
    """Per-run figures of one procedure; the dropped cases come first in every run."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.per_run: list[float] = []
        self.false_calls: list[int] = []
        self.all_calls = 0

    def add(self, called: list[bool]) -> None:
        dropped = self.scenario.dropped
        self.false_calls.append(sum(called[dropped:]))
        self.all_calls += sum(called)
        if dropped == 0:
            self.per_run.append(float(self.false_calls[-1] > 0))
        else:
            self.per_run.append(sum(called[:dropped]) / dropped)

    def measured(self) -> Measured:
        runs = len(self.per_run)
        # Cases of one run share the adjustment, so the error comes from the spread between runs.
        margin = 1.96 * statistics.stdev(self.per_run) / math.sqrt(runs) if runs > 1 else math.nan
        return Measured(
            rate=statistics.fmean(self.per_run),
            margin=margin,
            false_calls_per_run=statistics.fmean(self.false_calls),
            runs_with_false_call=statistics.fmean(float(n > 0) for n in self.false_calls),
            false_share=sum(self.false_calls) / self.all_calls if self.all_calls else 0.0,
        )


def draw_run(
    rng: random.Random,
    dropped: int,
    baseline: BinomialSampler,
    new_dropped: BinomialSampler,
    table: Table,
) -> tuple[list[float], list[float]]:
    """The run's p-values and p-value floors; the dropped cases come first."""
    tests = []
    for case in range(CASES):
        new = new_dropped if case < dropped else baseline
        tests.append(table[baseline.draw(rng)][new.draw(rng)])
    return [p for p, _ in tests], [floor for _, floor in tests]


# report


def report(outcomes: Sequence[Outcome], runs: int, seed: int) -> list[str]:
    lines = [
        "| scenario | plugin: Tarone + BH (95% interval) | target | met | false calls among "
        "unchanged cases | false share of calls | plain BH | plain BH limit (exact power at "
        "alpha k/m) | runs | seed | time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for outcome in outcomes:
        scenario, plugin, plain = outcome.scenario, outcome.plugin, outcome.plain
        ideal = scenario.ideal()
        lines.append(
            f"| {scenario.name} | {plugin.rate:.1%} (± {plugin.margin:.1%}) | "
            f"{scenario.target_text} | {'yes' if scenario.met(plugin.rate) else 'NO'} | "
            f"{plugin.false_calls_per_run:.3f} per run, in {plugin.runs_with_false_call:.1%} "
            f"of runs | {plugin.false_share:.1%} | {plain.rate:.1%} "
            f"({'meets' if scenario.met(plain.rate) else 'misses'} the target; false share "
            f"{plain.false_share:.1%}) | {'-' if ideal is None else f'{ideal:.1%}'} | "
            f"{runs} | {seed} | {outcome.seconds:.1f} s |"
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
        f"run, baseline rate {BASE_RATE}, adjusted p < {ALPHA}"
    )
    print()
    for line in report(outcomes, args.runs, args.seed):
        print(line)
    print()
    for line in context_lines():
        print(line)
    print(f"Total {time.perf_counter() - started:.1f} s")
    return 0 if all(o.scenario.met(o.plugin.rate) for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
