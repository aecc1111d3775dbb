"""Budgets per sample: ``max_latency_ms``, ``max_tokens`` and ``max_cost_usd``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import (
    CheckFactory,
    CheckFn,
    SampleContext,
    Verdict,
    unevaluated,
    verdict,
)
from pytest_promptcheck.checks.args import arg_error
from pytest_promptcheck.records import Completion

Measure = Callable[[Completion], float | None]


def _budget(kind: str, limit_example: float, unit: str, measure: Measure) -> CheckFactory:
    """A per-sample upper bound on one measure of the completion; the limit itself passes.

    ``unit`` formats a value, e.g. ``"{:.0f} ms"``. A measure of None means the cost is unknown
    (no prices for the model), which fails the check.
    """

    def factory(arg: Any, base_dir: Path) -> CheckFn:
        if isinstance(arg, bool) or not isinstance(arg, (int, float)) or arg < 0:
            raise arg_error("a non-negative number", arg, f"{kind}: {limit_example}")

        def run(ctx: SampleContext) -> Verdict:
            value = measure(ctx.completion)
            if value is None:
                return unevaluated("cost unknown: no prices configured for this model")
            word = "within" if value <= arg else "over"
            limit = unit.format(arg)
            return verdict(value <= arg, f"{kind}: {unit.format(value)}, {word} the {limit} limit")

        return run

    return factory


max_latency_ms = _budget("max_latency_ms", 8000, "{:.0f} ms", lambda c: c.latency_ms)
max_tokens = _budget("max_tokens", 200, "{:g} tokens", lambda c: c.tokens_out)
max_cost_usd = _budget("max_cost_usd", 0.01, "${:.6g}", lambda c: c.cost_usd)

CHECKS: tuple[tuple[str, CheckFactory], ...] = (
    ("max_latency_ms", max_latency_ms),
    ("max_tokens", max_tokens),
    ("max_cost_usd", max_cost_usd),
)
