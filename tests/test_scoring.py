"""Scoring a case's samples: format validation, checks, threshold and min_pass_rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promptcheck.checks.api import NOT_JSON
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion
from pytest_promptcheck.scoring import CaseAnswers, CaseOutcome, parse_format, score_case
from pytest_promptcheck.spec import PromptSpec, load_spec

TICKET_SCHEMA = """\
  schema:
    type: object
    required: [queue]
    properties:
      queue: {enum: [billing, tech]}
"""


def spec_of(tmp_path: Path, text: str) -> PromptSpec:
    path = tmp_path / "p.prompt.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path, builtin_registry(Project.at(path.parent)))


def outputs(*texts: str) -> list[Completion]:
    return [Completion(text=text, model_reported="m", latency_ms=10.0) for text in texts]


def score(tmp_path: Path, text: str, *texts: str) -> CaseOutcome:
    spec = spec_of(tmp_path, text)
    return score_case(spec, spec.cases[0], CaseAnswers(tuple(outputs(*texts))))


# all checks must pass


CONTAINS_BOTH = "prompt: hi\ncases:\n  - expect:\n      - contains: a\n      - contains: b\n"


def test_sample_passes_when_every_check_passes(tmp_path: Path) -> None:
    outcome = score(tmp_path, CONTAINS_BOTH, "a and b")
    assert outcome.passed is True
    assert outcome.samples[0].passed is True
    assert outcome.samples[0].score == 1.0


def test_one_failing_check_fails_the_sample_without_threshold(tmp_path: Path) -> None:
    outcome = score(tmp_path, CONTAINS_BOTH, "only a")
    sample = outcome.samples[0]
    assert sample.passed is False
    assert outcome.passed is False
    assert [r.verdict.passed for r in sample.checks] == [True, False]
    assert sample.score == 0.5


def test_check_results_carry_labels_and_weights(tmp_path: Path) -> None:
    outcome = score(tmp_path, CONTAINS_BOTH, "a and b")
    assert [(r.label, r.weight) for r in outcome.samples[0].checks] == [
        ('contains "a"', 1.0),
        ('contains "b"', 1.0),
    ]


def test_case_with_no_checks_passes(tmp_path: Path) -> None:
    outcome = score(tmp_path, "prompt: hi\ncases:\n  - id: a\n", "anything")
    assert outcome.passed is True
    assert outcome.samples[0].checks == ()
    assert outcome.samples[0].score == 1.0


# threshold: the weighted mean decides


def weighted(threshold: float) -> str:
    return (
        f"prompt: hi\nthreshold: {threshold}\ncases:\n  - expect:\n"
        "      - contains: good\n        weight: 3\n      - contains: great\n"
    )


def test_weighted_mean_reaching_threshold_passes(tmp_path: Path) -> None:
    outcome = score(tmp_path, weighted(0.7), "good")
    assert outcome.samples[0].score == pytest.approx(0.75)
    assert outcome.passed is True
    assert outcome.threshold == 0.7


def test_weighted_mean_below_threshold_fails(tmp_path: Path) -> None:
    outcome = score(tmp_path, weighted(0.8), "good")
    assert outcome.samples[0].score == pytest.approx(0.75)
    assert outcome.passed is False


def test_threshold_equal_to_score_passes(tmp_path: Path) -> None:
    assert score(tmp_path, weighted(0.75), "good").passed is True


def test_case_threshold_overrides_file_threshold(tmp_path: Path) -> None:
    text = weighted(0.7).replace("  - expect:", "  - threshold: 0.9\n    expect:")
    outcome = score(tmp_path, text, "good")
    assert outcome.threshold == 0.9
    assert outcome.passed is False


# JSON format


JSON_CASE = (
    "prompt: hi\nformat:\n  type: json\ncases:\n  - expect:\n      - equals: {queue: billing}\n"
)


def test_json_output_is_compared_after_parsing(tmp_path: Path) -> None:
    outcome = score(tmp_path, JSON_CASE, '{ "queue" : "billing" }')
    assert outcome.samples[0].format_error is None
    assert outcome.passed is True


def test_json_in_a_markdown_fence_parses(tmp_path: Path) -> None:
    outcome = score(tmp_path, JSON_CASE, '```json\n{"queue": "billing"}\n```')
    assert outcome.samples[0].format_error is None
    assert outcome.passed is True


def test_non_json_output_fails_with_format_error(tmp_path: Path) -> None:
    outcome = score(tmp_path, JSON_CASE, "billing")
    sample = outcome.samples[0]
    assert sample.format_error is not None
    assert sample.format_error.startswith("output is not JSON:")
    assert sample.passed is False
    assert sample.score == 0.0


def test_non_json_output_fails_even_without_checks(tmp_path: Path) -> None:
    text = "prompt: hi\nformat: {type: json}\ncases:\n  - id: a\n"
    outcome = score(tmp_path, text, "not json")
    assert outcome.passed is False


def test_non_json_output_fails_even_over_threshold(tmp_path: Path) -> None:
    text = (
        "prompt: hi\nformat: {type: json}\nthreshold: 0.1\ncases:\n"
        "  - expect: [{contains: billing}]\n"
    )
    outcome = score(tmp_path, text, "billing")
    assert outcome.samples[0].format_error is not None
    assert outcome.passed is False


def test_schema_violation_names_the_json_path(tmp_path: Path) -> None:
    text = "prompt: hi\nformat:\n  type: json\n" + TICKET_SCHEMA + "cases:\n  - id: a\n"
    outcome = score(tmp_path, text, '{"queue": "sales"}')
    error = outcome.samples[0].format_error
    assert error is not None
    assert error.startswith("output does not match format.schema: $.queue: ")
    assert outcome.passed is False


def test_schema_valid_output_passes(tmp_path: Path) -> None:
    text = "prompt: hi\nformat:\n  type: json\n" + TICKET_SCHEMA + "cases:\n  - id: a\n"
    assert score(tmp_path, text, '{"queue": "tech"}').passed is True


def test_text_format_does_not_parse_json(tmp_path: Path) -> None:
    outcome = score(tmp_path, "prompt: hi\ncases:\n  - id: a\n", "not json {")
    assert outcome.samples[0].format_error is None
    assert outcome.passed is True


# samples and min_pass_rate


def sampled(min_pass_rate: float) -> str:
    return (
        f"prompt: hi\nsamples: 4\nmin_pass_rate: {min_pass_rate}\n"
        "cases:\n  - expect: [{contains: ok}]\n"
    )


def test_three_of_four_meets_min_pass_rate_075(tmp_path: Path) -> None:
    outcome = score(tmp_path, sampled(0.75), "ok", "ok", "no", "ok")
    assert outcome.passed_count == 3
    assert outcome.pass_rate == 0.75
    assert outcome.passed is True


def test_three_of_four_misses_min_pass_rate_08(tmp_path: Path) -> None:
    outcome = score(tmp_path, sampled(0.8), "ok", "ok", "no", "ok")
    assert outcome.min_pass_rate == 0.8
    assert outcome.passed is False


def test_samples_keep_their_index_and_completion(tmp_path: Path) -> None:
    outcome = score(tmp_path, sampled(0.5), "ok", "no")
    assert [(s.index, s.completion.text, s.passed) for s in outcome.samples] == [
        (0, "ok", True),
        (1, "no", False),
    ]


def test_case_score_is_mean_of_sample_scores(tmp_path: Path) -> None:
    outcome = score(tmp_path, sampled(0.5), "ok", "no", "no", "no")
    assert outcome.score == 0.25


# parse_format


def test_parse_format_plain_json() -> None:
    assert parse_format('{"a": [1, 2]}', None) == ({"a": [1, 2]}, None)


def test_parse_format_fence_without_language() -> None:
    assert parse_format('```\n{"a": 1}\n```', None) == ({"a": 1}, None)


def test_parse_format_strips_surrounding_whitespace() -> None:
    assert parse_format("\n  ```json\n[1]\n```  \n", None) == ([1], None)


def test_parse_format_invalid_json_reports_position() -> None:
    parsed, error = parse_format('{"a": }', None)
    assert parsed is NOT_JSON
    assert error == "output is not JSON: Expecting value at line 1 column 7"


def test_parse_format_schema_error_keeps_the_parsed_value() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    parsed, error = parse_format('{"n": "x"}', schema)
    assert parsed == {"n": "x"}
    assert error is not None
    assert error.startswith("output does not match format.schema: $.n: ")


def test_parse_format_valid_against_schema() -> None:
    assert parse_format('{"n": 1}', {"type": "object"}) == ({"n": 1}, None)
