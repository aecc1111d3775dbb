"""Failure reports of items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion
from pytest_promptcheck.report import failure_text
from pytest_promptcheck.scoring import CaseAnswers, score_case
from pytest_promptcheck.spec import PromptSpec, load_spec

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
