"""The run's terminal summary table, read from case records alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_promptcheck.baseline import entry_of
from pytest_promptcheck.case_record import CaseRecord, Usage
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.project import Project
from pytest_promptcheck.properties import record_properties
from pytest_promptcheck.records import Completion
from pytest_promptcheck.scoring import CaseAnswers, score_case
from pytest_promptcheck.spec import load_spec
from pytest_promptcheck.summary import RunSummary, percentile
from tests.entries import make_entry, make_record, usage


def record(prompt: str = "p", model: str = "openai:m", **used: Any) -> CaseRecord:
    return make_record("c", make_entry(model=model), prompt=prompt, used=usage(**used))


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
    summary.add_record(record(), "passed")
    summary.add_record(record(), "passed")
    summary.add_record(record(), "failed")
    summary.add_error("p", "openai:m", "p.prompt.yaml::c", "openai: HTTP 401")
    summary.add_record(record(model="openai:n"), "failed")
    header, first, second = table(summary)
    assert header[:7] == ["prompt", "model", "passed", "failed", "errors", "live", "cached"]
    assert first[:5] == ["p", "openai:m", "2", "1", "1"]
    assert second[:5] == ["p", "openai:n", "0", "1", "0"]
    assert summary.errors == [{"node": "p.prompt.yaml::c", "error": "openai: HTTP 401"}]
    assert len(summary.records) == 4


def test_summary_counts_live_and_cached_samples() -> None:
    summary = RunSummary()
    summary.add_record(record(samples=3, cached=1), "passed")
    summary.add_record(record(samples=2, cached=2), "failed")
    row = table(summary)[1]
    assert (row[5], row[6]) == ("2", "3")
    assert summary.lines()[-1].startswith("5 samples: 2 live calls, 3 from cache")


def test_summary_counts_the_calls_of_flows_and_turns_beside_their_samples() -> None:
    summary = RunSummary()
    summary.add_record(record(samples=2, calls=6, cached=1), "passed")
    summary.add_record(record(samples=1), "passed")
    assert summary.lines()[-1].startswith("3 samples from 7 model calls: 6 live calls, 1 from")


def test_summary_error_adds_no_samples() -> None:
    summary = RunSummary()
    summary.add_error("p", "openai:m", "p::c", "boom")
    row = table(summary)[1]
    assert row[4:8] == ["1", "0", "0", "0"]
    assert table(summary)[1][9:] == ["-", "-"]


def test_summary_sums_tokens_and_cost() -> None:
    summary = RunSummary()
    summary.add_record(record(tokens=10, cost=0.25), "passed")
    summary.add_record(record(tokens=32, cost=0.125), "passed")
    row = table(summary)[1]
    assert (row[7], row[8]) == ("42", "0.3750")


def test_summary_cost_is_unknown_when_any_cost_is_unknown() -> None:
    summary = RunSummary()
    summary.add_record(record(cost=0.25), "passed")
    summary.add_record(record(cost=None), "passed")
    summary.add_record(record(cost=0.5), "passed")
    assert table(summary)[1][8] == "?"


def test_summary_latency_percentiles() -> None:
    summary = RunSummary()
    summary.add_record(
        record(samples=10, latencies=[float(v * 10) for v in range(1, 11)]), "passed"
    )
    row = table(summary)[1]
    assert (row[9], row[10]) == ("50", "100")


def test_summary_rows_are_sorted() -> None:
    summary = RunSummary()
    summary.add_record(record(prompt="zeta"), "passed")
    summary.add_record(record(prompt="alpha"), "passed")
    assert [row[0] for row in table(summary)[1:]] == ["alpha", "zeta"]


# one payload: the summary and the JUnit properties read the same record

ROUTE = """\
prompt: "Route: {{ t }}"
cases:
  - id: refund
    vars: {t: money}
    expect:
      - contains: billing
"""


def test_the_summary_and_the_junit_properties_come_from_one_record(tmp_path: Path) -> None:
    path = tmp_path / "route.prompt.yaml"
    path.write_text(ROUTE, encoding="utf-8")
    spec = load_spec(path, builtin_registry(Project.at(tmp_path)))
    completions = [
        Completion("billing", "m-2025", 5, 2, 120.04, 0.01, cached=True),
        Completion("billing", "m-2025", 5, 2, 80.0, None),
    ]
    outcome = score_case(spec, spec.cases[0], CaseAnswers(tuple(completions)))
    entry = entry_of(spec, spec.cases[0], "openai:m", outcome)
    one = make_record("refund", entry, prompt="route", used=Usage.of(2, completions))
    sent = CaseRecord.from_json(one.to_json())  # as xdist carries it
    summary = RunSummary()
    summary.add_record(sent, "passed")
    assert table(summary)[1][:9] == ["route", "openai:m", "1", "0", "0", "1", "1", "14", "?"]
    properties = dict(record_properties(sent))
    assert properties["promptcheck_cost_usd"] is None
    assert properties["promptcheck_latency_ms"] == [120.0, 80.0]
    assert properties["promptcheck_samples"] == 2 and properties["promptcheck_cached"] == 1
    assert sent == one
