"""Failure reports of items and the run summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.checks import builtin_registry
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion
from pytest_promptcheck.report import failure_text, outcome_properties
from pytest_promptcheck.scoring import CaseAnswers, score_case
from pytest_promptcheck.spec import PromptSpec, load_spec
from pytest_promptcheck.summary import RunSummary, percentile

TWO_CHECKS = """\
version: "2"
prompt: "Route: {{ t }}"
cases:
  - id: refund
    vars: {t: money}
    expect:
      - contains: billing
      - not_contains: sorry
"""


def spec_of(tmp_path: Path, text: str) -> PromptSpec:
    path = tmp_path / "route.prompt.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path, builtin_registry(Project.at(path.parent)))


def completion(text: str, **fields: Any) -> Completion:
    return Completion(text=text, model_reported="gpt-x-2025", **fields)


def report(tmp_path: Path, text: str, *outputs: Completion) -> str:
    spec = spec_of(tmp_path, text)
    case = spec.cases[0]
    return failure_text(
        spec, case, "openai:gpt-x", score_case(spec, case, CaseAnswers(tuple(outputs)))
    )


def props(
    prompt: str = "p",
    model: str = "openai:m",
    *,
    samples: int = 1,
    cached: int = 0,
    tokens: int = 10,
    cost: float | None = 0.5,
    latency: list[float] | None = None,
) -> dict[str, Any]:
    return {
        "promptcheck_prompt": prompt,
        "promptcheck_model": model,
        "promptcheck_samples": samples,
        "promptcheck_cached": cached,
        "promptcheck_tokens": tokens,
        "promptcheck_cost_usd": cost,
        "promptcheck_latency_ms": [100.0] * samples if latency is None else latency,
    }


def table(summary: RunSummary) -> list[list[str]]:
    return [line.split() for line in summary.lines()[:-1]]


# percentile


def test_percentile_50_nearest_rank() -> None:
    assert percentile([float(v) for v in range(1, 11)], 50) == 5.0


def test_percentile_95_nearest_rank() -> None:
    assert percentile([float(v) for v in range(1, 11)], 95) == 10.0


def test_percentile_sorts_its_input() -> None:
    assert percentile([30.0, 10.0, 20.0], 50) == 20.0


def test_percentile_of_one_value() -> None:
    assert percentile([7.0], 95) == 7.0


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


# RunSummary


def test_empty_summary_has_no_lines() -> None:
    assert RunSummary().lines() == []


def test_summary_counts_outcomes_per_prompt_and_model() -> None:
    summary = RunSummary()
    summary.add(props(), "passed")
    summary.add(props(), "passed")
    summary.add(props(), "failed")
    summary.add(props(), "error")
    summary.add(props(model="openai:n"), "failed")
    header, first, second = table(summary)
    assert header[:7] == ["prompt", "model", "passed", "failed", "errors", "live", "cached"]
    assert first[:5] == ["p", "openai:m", "2", "1", "1"]
    assert second[:5] == ["p", "openai:n", "0", "1", "0"]


def test_summary_counts_live_and_cached_samples() -> None:
    summary = RunSummary()
    summary.add(props(samples=3, cached=1), "passed")
    summary.add(props(samples=2, cached=2), "failed")
    row = table(summary)[1]
    assert (row[5], row[6]) == ("2", "3")
    assert summary.lines()[-1].startswith("5 samples: 2 live calls, 3 from cache")


def test_summary_error_adds_no_samples() -> None:
    summary = RunSummary()
    summary.add(props(samples=3), "error")
    row = table(summary)[1]
    assert row[4:8] == ["1", "0", "0", "0"]


def test_summary_sums_tokens_and_cost() -> None:
    summary = RunSummary()
    summary.add(props(tokens=10, cost=0.25), "passed")
    summary.add(props(tokens=32, cost=0.125), "passed")
    row = table(summary)[1]
    assert (row[7], row[8]) == ("42", "0.3750")


def test_summary_cost_is_unknown_when_any_cost_is_unknown() -> None:
    summary = RunSummary()
    summary.add(props(cost=0.25), "passed")
    summary.add(props(cost=None), "passed")
    summary.add(props(cost=0.5), "passed")
    assert table(summary)[1][8] == "?"


def test_summary_latency_percentiles() -> None:
    summary = RunSummary()
    summary.add(props(samples=10, latency=[float(v * 10) for v in range(1, 11)]), "passed")
    row = table(summary)[1]
    assert (row[9], row[10]) == ("50", "100")


def test_summary_latency_is_dash_without_samples() -> None:
    summary = RunSummary()
    summary.add(props(), "error")
    assert table(summary)[1][9:] == ["-", "-"]


def test_summary_rows_are_sorted() -> None:
    summary = RunSummary()
    summary.add(props(prompt="zeta"), "passed")
    summary.add(props(prompt="alpha"), "passed")
    assert [row[0] for row in table(summary)[1:]] == ["alpha", "zeta"]


def test_summary_reads_outcome_properties(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, TWO_CHECKS)
    outcome = score_case(
        spec,
        spec.cases[0],
        CaseAnswers(
            (completion("billing", tokens_in=5, tokens_out=2, cost_usd=0.01, cached=True),)
        ),
    )
    properties = {
        "promptcheck_prompt": "route",
        "promptcheck_model": "openai:m",
        **dict(outcome_properties(outcome)),
    }
    summary = RunSummary()
    summary.add(properties, "passed")
    assert table(summary)[1][:9] == ["route", "openai:m", "1", "0", "0", "0", "1", "7", "0.0100"]


# failure_text


def test_failure_first_line_is_the_verdict(tmp_path: Path) -> None:
    text = report(tmp_path, TWO_CHECKS, completion("tech, sorry"))
    assert text.splitlines()[0] == "refund failed: 2 of 2 checks"


def test_failure_counts_only_failing_checks(tmp_path: Path) -> None:
    text = report(tmp_path, TWO_CHECKS, completion("billing, sorry"))
    assert text.splitlines()[0] == "refund failed: 1 of 2 checks"


def test_failure_has_case_and_model_lines(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, TWO_CHECKS)
    text = report(tmp_path, TWO_CHECKS, completion("billing, sorry", latency_ms=123.0))
    lines = text.splitlines()
    assert lines[1].startswith("  case    ")
    assert ":4   prompt route v2 (fp " in lines[1]
    assert spec.fingerprint[:8] in lines[1]
    assert lines[2].startswith("  model   openai:gpt-x  (reported gpt-x-2025, live, 123 ms")


def test_failure_lists_output_and_each_check(tmp_path: Path) -> None:
    text = report(tmp_path, TWO_CHECKS, completion("billing, sorry"))
    assert '  output  "billing, sorry"' in text.splitlines()
    assert any(line.startswith("  check   ok    contains") for line in text.splitlines())
    assert any(line.startswith("  check   FAIL  not_contains") for line in text.splitlines())


def test_failure_for_cached_sample_says_cached(tmp_path: Path) -> None:
    text = report(tmp_path, TWO_CHECKS, completion("x", cached=True))
    assert "(reported gpt-x-2025, cached, " in text.splitlines()[2]


def test_failure_with_samples_states_pass_rate_rule(tmp_path: Path) -> None:
    text = (
        "prompt: hi\nsamples: 4\nmin_pass_rate: 0.8\ncases:\n  - id: s\n"
        "    expect: [{contains: ok}]\n"
    )
    outputs = [completion(t) for t in ("ok", "ok", "no", "ok")]
    lines = report(tmp_path, text, *outputs).splitlines()
    assert lines[0] == "s failed: 3 of 4 samples passed, min_pass_rate 0.8 needs 4"
    assert lines[2] == "  model   openai:gpt-x"
    assert sum(line.startswith("  sample ") for line in lines) == 4
    assert any(line.startswith("  sample 3  FAIL  score 0.00") for line in lines)


def test_failure_for_invalid_format(tmp_path: Path) -> None:
    text = "prompt: hi\nformat: {type: json}\ncases:\n  - id: j\n"
    lines = report(tmp_path, text, completion("nope")).splitlines()
    assert lines[0] == "j failed: output format invalid"
    assert any(line.startswith("  format  FAIL  output is not JSON:") for line in lines)


def test_failure_below_threshold(tmp_path: Path) -> None:
    text = (
        "prompt: hi\nthreshold: 0.8\ncases:\n  - id: t\n    expect:\n"
        "      - contains: a\n        weight: 3\n      - contains: b\n"
    )
    lines = report(tmp_path, text, completion("a")).splitlines()
    assert lines[0] == "t failed: score 0.75 below threshold 0.8"
    assert any("(weight 3, score 1.00)" in line for line in lines)


@pytest.mark.parametrize("rate, needed", [(1.0, 4), (0.5, 2), (0.75, 3), (0.7, 3)])
def test_failure_needed_count_rounds_up(tmp_path: Path, rate: float, needed: int) -> None:
    text = (
        f"prompt: hi\nsamples: 4\nmin_pass_rate: {rate}\ncases:\n  - id: s\n"
        "    expect: [{contains: ok}]\n"
    )
    outputs = [completion("no") for _ in range(4)]
    first = report(tmp_path, text, *outputs).splitlines()[0]
    assert first == f"s failed: 0 of 4 samples passed, min_pass_rate {rate:g} needs {needed}"
