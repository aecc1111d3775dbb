"""Typed baseline entries and case records for unit tests, with every field filled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_promptcheck.case_record import CaseRecord, Usage
from pytest_promptcheck.drift import Drift
from pytest_promptcheck.entry import (
    BaselineEntry,
    CheckScore,
    ModelStamp,
    PromptStamp,
    SampleRecord,
)


def sample(output: str, passed: bool = True) -> SampleRecord:
    score = 1.0 if passed else 0.0
    return SampleRecord(
        output=output,
        passed=passed,
        score=score,
        format_error=None,
        checks=(CheckScore('contains "x"', passed, score),),
        tokens_in=3,
        tokens_out=1,
        cost_usd=None,
        latency_ms=10.0,
    )


def make_entry(
    outputs: list[str] | None = None,
    passed: int | None = None,
    *,
    score: float | None = None,
    request: str = "r1",
    version: str | None = None,
    model: str = "openai:a",
    reported: str | None = None,
    fingerprint: str | None = None,
    params: Mapping[str, Any] | None = None,
    checks: str = "c1",
) -> BaselineEntry:
    outputs = outputs if outputs is not None else ["cold"]
    n = len(outputs)
    passed = n if passed is None else passed
    return BaselineEntry(
        prompt=PromptStamp("f", version, request),
        model=ModelStamp(model, reported, fingerprint),
        params=dict(params) if params is not None else {"temperature": 0},
        checks=checks,
        samples=tuple(sample(o, i < passed) for i, o in enumerate(outputs)),
        passed=passed,
        n=n,
        verdict="passed" if passed == n else "failed",
        score=passed / n if score is None else score,
        tokens=4 * n,
        cost_usd=None,
        latency_ms=10.0,
    )


def usage(
    samples: int = 1,
    cached: int = 0,
    calls: int | None = None,
    tokens: int = 10,
    cost: float | None = 0.5,
    latencies: list[float] | None = None,
) -> Usage:
    latencies = [100.0] * samples if latencies is None else latencies
    calls = samples if calls is None else calls
    return Usage(samples, calls, cached, tokens, cost, tuple(latencies), "m-2025")


def make_record(
    case: str,
    now: BaselineEntry,
    baseline: BaselineEntry | None = None,
    drift: Drift | None = None,
    *,
    prompt: str = "opposites",
    baseline_file: str = "__promptcheck__/opposites.json",
    used: Usage | None = None,
    unused: tuple[str, ...] = (),
    file_items: int = 1,
) -> CaseRecord:
    return CaseRecord(
        prompt=prompt,
        file=f"{prompt}.prompt.yaml",
        baseline=baseline_file,
        case=case,
        model=now.model.requested,
        reference=True,
        file_items=file_items,
        unused=unused,
        tally=now.tally,
        baseline_tally=None if baseline is None else baseline.tally,
        usage=used or usage(samples=now.n),
        entry=now,
        baseline_entry=baseline,
        drift=None if drift is None else drift.to_json(),
    )
