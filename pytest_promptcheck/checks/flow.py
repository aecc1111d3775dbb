"""Checks on a flow's trace: ``max_model_calls``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import CheckFactory, CheckFn, SampleContext, Verdict, verdict
from pytest_promptcheck.checks.args import arg_error


def max_model_calls(arg: Any, base_dir: Path) -> CheckFn:
    """At most N model calls in the sample: a flow's inner calls; a prompt's sample is one."""
    if isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
        raise arg_error("a non-negative integer", arg, "max_model_calls: 3")

    def run(ctx: SampleContext) -> Verdict:
        calls = 1 if ctx.trace is None else len(ctx.trace)
        word = "within" if calls <= arg else "over"
        return verdict(calls <= arg, f"max_model_calls: {calls} calls, {word} the limit of {arg}")

    return run


CHECKS: tuple[tuple[str, CheckFactory], ...] = (("max_model_calls", max_model_calls),)
