"""The run's drift seen whole: counts by prompt and model, moved cases, the model matrix, and
what the run's sample sizes could detect. One model of rows, which the terminal summary
(``drift_summary``) and the report files (``reports/``) only render."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import Effect
from pytest_promptcheck.policy import DriftPolicy
from pytest_promptcheck.power import (
    samples_needed,
    smallest_detectable_drop,
)
from pytest_promptcheck.stats import (
    pass_at_k,
    pass_hat_k,
    wilson_interval,
)

EFFECTS = (Effect.REGRESSED, Effect.IMPROVED, Effect.CHANGED, Effect.SAME, Effect.NEW)
DETECTION_POWER = 0.8
CHANGED_SHOWN = 10
"""Changed cases kept their verdict: the summary lists the first few, a report lists all."""


@dataclass(frozen=True)
class MatrixCell:
    passed: int
    total: int
    regressed: int
    improved: int

    def text(self) -> str:
        rate = f"{self.passed}/{self.total}"
        return f"{rate} ({self.passed / self.total:.0%}), -{self.regressed}/+{self.improved}"


@dataclass(frozen=True)
class SampledPrompt:
    """What a prompt's sampled cases say, and what the run could have detected in them."""

    prompt: str
    cases: int
    samples: int
    passed: int
    total: int
    base_rate: float
    smallest_drop: float | None
    pass_at_n: float
    pass_hat_n: float

    def line(self, policy: DriftPolicy, tests: int) -> str:
        low, high = wilson_interval(self.passed, self.total)
        drop = (
            f"{self.smallest_drop:.2f} (from {self.base_rate:.2f})"
            if self.smallest_drop is not None
            else f"none, even to 0 (from {self.base_rate:.2f})"
        )
        return (
            f"{self.prompt}: {self.cases} sampled cases x {self.samples} samples, pass rate "
            f"{self.passed / self.total:.2f} (95% Wilson {low:.2f}-{high:.2f}), "
            f"pass@{self.samples} {self.pass_at_n:.2f}, pass^{self.samples} {self.pass_hat_n:.2f}; "
            f"smallest drop of one case this run could detect: {drop} "
            f"({DETECTION_POWER:.0%} power at alpha {policy.alpha:g} / {tests}, the number of "
            "cases the run's adjustment counted)"
        )


@dataclass
class DriftView:
    records: list[CaseRecord]
    policy: DriftPolicy
    detect: float | None = None
    models: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.models = list(dict.fromkeys(r.model for r in self.records))

    @cached_property
    def compared(self) -> list[CaseRecord]:
        return [r for r in self.records if r.drift is not None]

    def counts(self) -> dict[tuple[str, str], Counter[str]]:
        table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for record in self.compared:
            table[(record.prompt, record.model)][record.effect or ""] += 1
        return dict(sorted(table.items()))

    def moved(self, effect: Effect) -> list[CaseRecord]:
        return [r for r in self.compared if r.effect == effect.value]

    def unused(self) -> dict[str, list[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for record in self.records:
            found[record.baseline].update(record.unused)
        return {path: sorted(ids) for path, ids in sorted(found.items()) if ids}

    # several models

    def matrix(self) -> dict[str, dict[str, MatrixCell]]:
        cells: dict[str, dict[str, list[CaseRecord]]] = defaultdict(lambda: defaultdict(list))
        for record in self.records:
            cells[record.prompt][record.model].append(record)
        return {
            prompt: {model: _cell(rows) for model, rows in by_model.items()}
            for prompt, by_model in sorted(cells.items())
        }

    def model_differences(self) -> list[tuple[str, dict[str, bool]]]:
        """Cases whose verdict is not the same for every model."""
        verdicts: dict[str, dict[str, bool]] = defaultdict(dict)
        for record in self.records:
            verdicts[record.label][record.model] = record.passed
        return [
            (label, by_model)
            for label, by_model in sorted(verdicts.items())
            if len(set(by_model.values())) > 1
        ]

    # sampled cases

    @cached_property
    def sampled(self) -> list[CaseRecord]:
        return [r for r in self.records if r.tally.sampled]

    @cached_property
    def family(self) -> int:
        """How many cases the run's adjustment counted: an isolated drop is judged at alpha
        divided by this. Without baselines, every sampled case counts."""
        families = [
            int(r.drift["family"]) for r in self.sampled if r.drift and r.drift.get("family")
        ]
        return max(families) if families else max(1, len(self.sampled))

    def sampled_prompts(self) -> list[SampledPrompt]:
        by_prompt: dict[str, list[CaseRecord]] = defaultdict(list)
        for record in self.sampled:
            by_prompt[record.prompt].append(record)
        tests = self.family
        return [
            _sampled_prompt(p, rows, self.policy, tests) for p, rows in sorted(by_prompt.items())
        ]

    def detect_line(self) -> str | None:
        if self.detect is None or not self.sampled:
            return None
        tests = self.family
        base = _base_rate(self.sampled)
        target = max(base - self.detect, 0.0)
        needed = samples_needed(base, self.detect, self.policy.alpha, tests=tests)
        advice = (
            f"samples: {needed} per case (in the baseline and in the run)"
            if needed is not None
            else "more than 500 samples per case; test fewer cases at once or accept larger drops"
        )
        return (
            f"to detect a drop of {self.detect:g} in one case ({base:.2f} → {target:.2f}) with "
            f"{DETECTION_POWER:.0%} power at alpha {self.policy.alpha:g} / {tests}: {advice}"
        )

    def causes(self) -> dict[tuple[str, str], Counter[str]]:
        """How often each cause was found, by prompt and model (unexplained drift included)."""
        table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for record in self.compared:
            causes = (record.drift or {}).get("causes") or []
            if causes or record.unexplained:
                table[(record.prompt, record.model)].update(causes or ["no change"])
        return table

    def count_rows(self) -> list[tuple[str, ...]]:
        """prompt, model, a count per effect, and the causes found with their counts."""
        rows: list[tuple[str, ...]] = [("prompt", "model", *(e.value for e in EFFECTS), "causes")]
        causes = self.causes()
        for key, counts in self.counts().items():
            found = ", ".join(f"{cause}: {n}" for cause, n in sorted(causes.get(key, {}).items()))
            rows.append((*key, *(str(counts[e.value]) for e in EFFECTS), found or "-"))
        return rows

    def totals(self, errors: int) -> dict[str, int]:
        """Cases by verdict and by effect, and the errors (items without a record)."""
        passed = passed_count(self.records)
        counts = {
            "cases": len(self.records),
            "passed": passed,
            "failed": len(self.records) - passed,
            "errors": errors,
        }
        for effect in EFFECTS:
            counts[effect.value] = len(self.moved(effect))
        return counts

    def matrix_rows(self) -> list[tuple[str, ...]]:
        """A header of models, then per prompt each model's cell."""
        rows: list[tuple[str, ...]] = [("prompt", *self.models)]
        for prompt, cells in self.matrix().items():
            rows.append((prompt, *(cells[m].text() if m in cells else "-" for m in self.models)))
        return rows

    def sampled_lines(self) -> list[str]:
        """A line per prompt with sampled cases, and what the run would need to detect a drop."""
        tests = self.family
        lines = [prompt.line(self.policy, tests) for prompt in self.sampled_prompts()]
        detect = self.detect_line() if lines else None
        return [*lines, detect] if detect else lines


def passed_count(records: list[CaseRecord]) -> int:
    """How many cases passed their checks."""
    return sum(r.passed for r in records)


def _cell(rows: list[CaseRecord]) -> MatrixCell:
    return MatrixCell(
        passed=passed_count(rows),
        total=len(rows),
        regressed=sum(r.effect == Effect.REGRESSED.value for r in rows),
        improved=sum(r.effect == Effect.IMPROVED.value for r in rows),
    )


def _base_rate(records: list[CaseRecord]) -> float:
    rates = [tally.rate for tally in (r.baseline_tally or r.tally for r in records) if tally.n]
    return statistics.fmean(rates) if rates else 0.0


def _sampled_prompt(
    prompt: str, rows: list[CaseRecord], policy: DriftPolicy, tests: int
) -> SampledPrompt:
    tallies = [r.tally for r in rows]
    samples = max(t.n for t in tallies)
    base = _base_rate(rows)
    return SampledPrompt(
        prompt=prompt,
        cases=len(rows),
        samples=samples,
        passed=sum(t.passed for t in tallies),
        total=sum(t.n for t in tallies),
        base_rate=base,
        smallest_drop=smallest_detectable_drop(
            base, samples, samples, policy.alpha, tests=tests, power=DETECTION_POWER
        ),
        pass_at_n=statistics.fmean(pass_at_k(t.n, t.passed, t.n) for t in tallies),
        pass_hat_n=statistics.fmean(pass_hat_k(t.n, t.passed, t.n) for t in tallies),
    )
