"""Drift of a case against its baseline entry: what changed (cause) and what it did (effect).

A single-sample case regresses when its verdict flips from pass to fail, or its score drops by
more than the tolerance. A sampled case regresses only when its pass count is significantly
lower than the baseline's (one-sided mid-p Fisher test, p-values adjusted across the run's sampled
cases by Benjamini-Hochberg after Tarone's screening), so that sampling noise is not called a
regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.policy import DriftPolicy
from pytest_promptcheck.providers.llama_build import BUILD_LABEL_START
from pytest_promptcheck.stats import (
    discrete_benjamini_hochberg,
    improvement_p_floor,
    improvement_p_value,
    regression_p_floor,
    regression_p_value,
    tarone_family,
)

PROMPT_CHANGED = "prompt changed"
MODEL_CHANGED = "model changed"
PARAMS_CHANGED = "params changed"
CHECKS_CHANGED = "checks changed"
JUDGE_CHANGED = "judge changed"
FLOW_CHANGED = "flow changed"
NO_CHANGE = "no change"


class Effect(StrEnum):
    REGRESSED = "regressed"
    IMPROVED = "improved"
    CHANGED = "changed"
    SAME = "same"
    NEW = "new"


Counts = tuple[int, int, int, int]
"""Baseline passes and samples, then the run's."""


@dataclass(frozen=True)
class Significance:
    """Adjusted p-values of a sampled case: for a lower and for a higher pass rate."""

    regression: float
    improvement: float
    family: int = 1
    """How many cases the regression test's adjustment counted (after Tarone's screening)."""


@dataclass(frozen=True)
class Drift:
    effect: Effect
    causes: tuple[str, ...]
    reason: str
    details: tuple[str, ...] = ()
    """One per cause, for people: e.g. ``openai:a → openai:b`` for a model change."""
    baseline_passed: int = 0
    baseline_n: int = 0
    passed: int = 0
    n: int = 0
    p_value: float | None = None
    """The adjusted p-value of the called direction (sampled cases only)."""
    family: int | None = None
    """How many cases the run's adjustment counted (sampled cases only)."""

    @property
    def cause_text(self) -> str:
        if not self.causes:
            return NO_CHANGE
        details = self.details or ("",) * len(self.causes)
        return ", ".join(
            f"{cause} ({detail})" if detail else cause
            for cause, detail in zip(self.causes, details, strict=True)
        )

    @property
    def unexplained(self) -> bool:
        return not self.causes and self.effect not in (Effect.SAME, Effect.NEW)

    def line(self) -> str:
        if self.effect is Effect.NEW:
            return "new: no baseline entry yet"
        return f"{self.effect.value} ({self.cause_text}): {self.reason}"

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["effect"] = self.effect.value
        data["causes"] = list(self.causes)
        data["details"] = list(self.details)
        data["cause_text"] = self.cause_text
        data["unexplained"] = self.unexplained
        return data


NEW_CASE = Drift(Effect.NEW, (), "no baseline entry yet")


def is_sampled(baseline: BaselineEntry, current: BaselineEntry) -> bool:
    """A case is judged by its pass rate when it has several samples, now or in its baseline."""
    return baseline.tally.sampled or current.tally.sampled


def counts_of(baseline: BaselineEntry, current: BaselineEntry) -> Counts:
    return (baseline.passed, baseline.n, current.passed, current.n)


def raw_significance(baseline: BaselineEntry, current: BaselineEntry) -> Significance:
    """The p-values of a case on its own, unadjusted."""
    counts = counts_of(baseline, current)
    return Significance(regression_p_value(*counts), improvement_p_value(*counts))


def adjust(counts: Mapping[str, Counts], alpha: float) -> dict[str, Significance]:
    """Adjusted p-values across every sampled case of the run, each direction on its own.

    Benjamini-Hochberg after Tarone's screening: cases whose margins cannot reach significance
    (most unchanged cases at a high pass rate) do not dilute the others.
    """
    keys = list(counts)
    down_floors = [regression_p_floor(*counts[key]) for key in keys]
    down = discrete_benjamini_hochberg(
        [regression_p_value(*counts[key]) for key in keys], down_floors, alpha
    )
    up = discrete_benjamini_hochberg(
        [improvement_p_value(*counts[key]) for key in keys],
        [improvement_p_floor(*counts[key]) for key in keys],
        alpha,
    )
    family = tarone_family(down_floors, alpha)
    return {key: Significance(d, u, family) for key, d, u in zip(keys, down, up, strict=True)}


def causes_of(baseline: BaselineEntry, current: BaselineEntry) -> tuple[tuple[str, str], ...]:
    """Each cause found, with a detail for people (which model, which version, which params)."""
    causes = []
    if baseline.prompt.request != current.prompt.request:
        causes.append((PROMPT_CHANGED, _version_change(baseline, current)))
    causes += [(PROMPT_CHANGED, f"step {name}") for name in steps_changed(baseline, current)]
    if baseline.prompt.flow != current.prompt.flow:
        causes.append((FLOW_CHANGED, ""))
    model = model_change(baseline, current)
    if model:
        causes.append((MODEL_CHANGED, model))
    old_params, new_params = baseline.params, current.params
    if old_params != new_params:
        keys = sorted(
            k for k in {*old_params, *new_params} if old_params.get(k) != new_params.get(k)
        )
        causes.append((PARAMS_CHANGED, ", ".join(keys)))
    if baseline.judges != current.judges:  # before checks: a new rubric changes both
        causes.append((JUDGE_CHANGED, judge_change(baseline, current)))
    if baseline.checks != current.checks:
        causes.append((CHECKS_CHANGED, ""))
    return tuple(causes)


def steps_changed(baseline: BaselineEntry, current: BaselineEntry) -> list[str]:
    """The flow steps whose prompt file changed (by fingerprint), in the order of the trace."""
    if not (baseline.samples and current.samples):
        return []
    before = {s.get("step"): s.get("prompt") for s in baseline.samples[0].trace}
    names = []
    for step in current.samples[0].trace:
        name = step.get("step")
        if name in before and step.get("prompt") != before[name] and name not in names:
            names.append(name)
    return [str(name) for name in names]


def _version_change(baseline: BaselineEntry, current: BaselineEntry) -> str:
    old, new = baseline.prompt.version, current.prompt.version
    return f"version {old} → {new}" if old != new else ""


def judge_change(baseline: BaselineEntry, current: BaselineEntry) -> str:
    """What moved in the case's judges: their models (``a → b``), else their rubrics."""
    old = [str(judge.get("model")) for judge in baseline.judges]
    new = [str(judge.get("model")) for judge in current.judges]
    if old != new:
        return f"{', '.join(old) or 'none'} → {', '.join(new) or 'none'}"
    return "rubric or template"


def model_change(baseline: BaselineEntry, current: BaselineEntry) -> str | None:
    """How the model moved, e.g. ``openai:a → openai:b``; None when it did not."""
    old, new = baseline.model, current.model
    if old.requested != new.requested:
        return f"{old.requested} → {new.requested}"
    for field in ("reported", "system_fingerprint"):
        before, after = getattr(old, field), getattr(new, field)
        if before and after and before != after:
            return f"{_label(field, str(after))}{before} → {after}"
    return None


def _label(field: str, value: str) -> str:
    """A local model's fingerprint is its llama.cpp build and CPU features (whatever the
    provider is named, e.g. a pyproject provider of type local): say so."""
    if field == "reported":
        return "reported "
    local = value.startswith(f"{BUILD_LABEL_START} ")
    return "local build: " if local else "system_fingerprint "


def classify(
    baseline: BaselineEntry | None,
    current: BaselineEntry,
    policy: DriftPolicy,
    significance: Significance | None = None,
) -> Drift:
    if baseline is None:
        return NEW_CASE
    found = causes_of(baseline, current)
    causes, details = tuple(c for c, _ in found), tuple(d for _, d in found)
    counts = {
        "baseline_passed": baseline.passed,
        "baseline_n": baseline.n,
        "passed": current.passed,
        "n": current.n,
    }
    if is_sampled(baseline, current):
        sig = significance or raw_significance(baseline, current)
        effect, reason, p_value = _sampled_effect(baseline, current, policy, sig)
        return Drift(effect, causes, reason, details, p_value=p_value, family=sig.family, **counts)
    effect, reason = _single_effect(baseline, current, policy)
    return Drift(effect, causes, reason, details, **counts)


def _single_effect(
    baseline: BaselineEntry, current: BaselineEntry, policy: DriftPolicy
) -> tuple[Effect, str]:
    was, now = baseline.verdict, current.verdict
    old_score, new_score = float(baseline.score), float(current.score)
    scores = f"score {old_score:.2f} → {new_score:.2f}"
    if was == "passed" and now == "failed":
        return Effect.REGRESSED, f"passed → failed, {scores}"
    if was == "failed" and now == "passed":
        return Effect.IMPROVED, f"failed → passed, {scores}"
    if old_score - new_score > policy.tolerance + 1e-9:
        return Effect.REGRESSED, f"{scores}, a drop beyond the tolerance {policy.tolerance:g}"
    if new_score - old_score > policy.tolerance + 1e-9:
        return Effect.IMPROVED, f"{scores}, a rise beyond the tolerance {policy.tolerance:g}"
    if baseline.answers != current.answers or abs(old_score - new_score) > 1e-9:
        moved = "tool calls" if baseline.outputs == current.outputs else "output"
        return Effect.CHANGED, f"{moved} moved, verdict {now}, {scores}"
    return Effect.SAME, f"verdict {now}, same output"


def _sampled_effect(
    baseline: BaselineEntry, current: BaselineEntry, policy: DriftPolicy, sig: Significance
) -> tuple[Effect, str, float | None]:
    rates = f"pass rate {baseline.passed}/{baseline.n} → {current.passed}/{current.n}"
    if sig.regression < policy.alpha:
        return Effect.REGRESSED, f"{rates}, adjusted p={sig.regression:.2g}", sig.regression
    if sig.improvement < policy.alpha:
        return Effect.IMPROVED, f"{rates}, adjusted p={sig.improvement:.2g}", sig.improvement
    p_value = min(sig.regression, sig.improvement)
    moved = (
        baseline.passed * current.n != current.passed * baseline.n
        or sorted(baseline.answers) != sorted(current.answers)  # samples have no order
    )
    if moved:
        return Effect.CHANGED, f"{rates}, not significant (adjusted p={p_value:.2g})", p_value
    return Effect.SAME, f"{rates}, same outputs", p_value
