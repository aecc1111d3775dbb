"""What the check tests share: a sample, and a check compiled by the built-in registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.checks.api import NOT_JSON, CheckFn, SampleContext, Verdict
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion

HERE = Path(__file__).parent
PROJECT = Project.at(HERE.parents[1])
PASS = Verdict(True, 1.0, "")


HERE = Path(__file__).parent
PROJECT = Project.at(HERE.parent)
PASS = Verdict(True, 1.0, "")


def sample(
    text: str = "",
    *,
    json: Any = NOT_JSON,
    json_format: bool = False,
    latency_ms: float = 0.0,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: float | None = None,
) -> SampleContext:
    completion = Completion(
        text=text,
        model_reported="m",
        latency_ms=latency_ms,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_usd,
    )
    return SampleContext(
        text, completion, json, json_format, case_id="refund", vars={"ticket": "charged twice"}
    )


def check(kind: str, arg: Any, base_dir: Path = HERE) -> CheckFn:
    compiled = builtin_registry(Project.at(base_dir)).compile(kind, arg, base_dir)
    assert callable(compiled)  # the built-ins ask no model
    return compiled


def verdict(kind: str, arg: Any, ctx: SampleContext | str, base_dir: Path = HERE) -> Verdict:
    return check(kind, arg, base_dir)(sample(ctx) if isinstance(ctx, str) else ctx)


def arg_error(kind: str, arg: Any, base_dir: Path = HERE) -> CheckArgError:
    with pytest.raises(CheckArgError) as info:
        check(kind, arg, base_dir)
    return info.value


def json_sample(data: Any) -> SampleContext:
    return sample("<json>", json=data, json_format=True)
