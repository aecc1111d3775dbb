"""Checks on the output as JSON: equals and json_path."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_promptcheck.checks.api import Verdict
from tests.checks.support import arg_error, json_sample, sample, verdict

# --- equals ---------------------------------------------------------------------------------


def test_equals_text_ignores_surrounding_whitespace_and_says_so() -> None:
    assert verdict("equals", "billing", " billing\n") == Verdict(
        True, 1.0, "equals: equal (ignoring surrounding whitespace)"
    )


def test_equals_text_exact_match_has_no_whitespace_note() -> None:
    assert verdict("equals", "billing", "billing").reason == "equals: equal"


def test_equals_text_failure_shows_expected_and_got() -> None:
    assert verdict("equals", "billing", "tech") == Verdict(
        False, 0.0, 'equals: expected "billing", got "tech"'
    )


def test_equals_text_number_is_compared_as_text() -> None:
    assert verdict("equals", 42, "42").passed is True


def test_equals_text_boolean_is_written_as_json() -> None:
    assert verdict("equals", True, "true").passed is True


def test_equals_json_ignores_key_order() -> None:
    ctx = json_sample({"urgent": False, "queue": "billing"})
    assert verdict("equals", {"queue": "billing", "urgent": False}, ctx).reason == (
        "equals: equal as JSON"
    )


def test_equals_json_failure_names_the_differing_path() -> None:
    ctx = json_sample({"queue": "tech", "urgent": False})
    result = verdict("equals", {"queue": "billing", "urgent": False}, ctx)
    assert result == Verdict(False, 0.0, 'equals at $.queue: expected "billing", got "tech"')


def test_equals_json_reports_a_missing_key() -> None:
    ctx = json_sample({"queue": "billing"})
    result = verdict("equals", {"queue": "billing", "urgent": False}, ctx)
    assert result.reason == "equals at $.urgent: expected false, got (absent)"


def test_equals_json_reports_an_extra_key() -> None:
    ctx = json_sample({"queue": "billing", "note": "x"})
    assert verdict("equals", {"queue": "billing"}, ctx).reason == (
        'equals at $.note: expected (absent), got "x"'
    )


def test_equals_json_true_is_not_one() -> None:
    assert verdict("equals", {"urgent": True}, json_sample({"urgent": 1})).passed is False


def test_equals_json_int_equals_float() -> None:
    assert verdict("equals", [1, 2.0], json_sample([1.0, 2])).passed is True


def test_equals_json_list_order_matters() -> None:
    assert verdict("equals", [1, 2], json_sample([2, 1])).reason == (
        "equals at $[0]: expected 1, got 2"
    )


def test_equals_json_parses_a_string_expectation() -> None:
    ctx = json_sample({"queue": "billing"})
    assert verdict("equals", '{"queue": "billing"}', ctx).passed is True


def test_equals_json_string_matches_a_json_string() -> None:
    assert verdict("equals", "billing", json_sample("billing")).passed is True


def test_equals_structure_in_text_format_parses_the_output() -> None:
    assert verdict("equals", {"a": 1}, ' {"a": 1} ').passed is True


def test_equals_structure_on_non_json_text_fails() -> None:
    reason = verdict("equals", {"a": 1}, "hello").reason
    assert reason == "equals: output is not JSON: Expecting value at line 1 column 1"


def test_equals_json_format_that_did_not_parse_compares_text() -> None:
    ctx = sample("billing", json_format=True)
    assert verdict("equals", "billing", ctx).passed is True


def test_equals_long_values_are_clipped() -> None:
    reason = verdict("equals", "a" * 200, "b" * 200).reason
    assert len(reason) <= 120 and reason.count("…") == 2


# --- json_path check ------------------------------------------------------------------------


def test_json_path_equals_passes() -> None:
    ctx = json_sample({"queue": "billing"})
    assert verdict("json_path", {"path": "$.queue", "equals": "billing"}, ctx) == Verdict(
        True, 1.0, 'json_path $.queue equals "billing": yes'
    )


def test_json_path_equals_fails_with_the_value_found() -> None:
    ctx = json_sample({"queue": "tech"})
    reason = verdict("json_path", {"path": "$.queue", "equals": "billing"}, ctx).reason
    assert reason == 'json_path $.queue equals "billing": got "tech"'


def test_json_path_without_match_says_so() -> None:
    reason = verdict("json_path", {"path": "$.nope", "equals": 1}, json_sample({})).reason
    assert reason == "json_path $.nope equals 1: path not found"


def test_json_path_wildcard_passes_when_any_value_satisfies() -> None:
    ctx = json_sample({"items": [{"id": 1}, {"id": 2}]})
    assert verdict("json_path", {"path": "$.items[*].id", "equals": 2}, ctx).passed is True


def test_json_path_wildcard_failure_lists_the_values() -> None:
    ctx = json_sample({"items": [{"id": 1}, {"id": 2}]})
    reason = verdict("json_path", {"path": "$.items[*].id", "equals": 5}, ctx).reason
    assert reason == "json_path $.items[*].id equals 5: got [1,2]"


def test_json_path_contains_a_substring() -> None:
    ctx = json_sample({"reply": "Refund issued"})
    assert verdict("json_path", {"path": "$.reply", "contains": "Refund"}, ctx).passed is True


def test_json_path_contains_a_list_item() -> None:
    ctx = json_sample({"tags": ["a", "b"]})
    assert verdict("json_path", {"path": "$.tags", "contains": "b"}, ctx).passed is True


def test_json_path_contains_a_mapping_key() -> None:
    ctx = json_sample({"meta": {"id": 1}})
    assert verdict("json_path", {"path": "$.meta", "contains": "id"}, ctx).passed is True


def test_json_path_contains_fails_on_a_number() -> None:
    ctx = json_sample({"n": 12})
    assert verdict("json_path", {"path": "$.n", "contains": "1"}, ctx).passed is False


def test_json_path_matches_a_regex() -> None:
    ctx = json_sample({"id": "T-123"})
    assert verdict("json_path", {"path": "$.id", "matches": r"^T-\d+$"}, ctx).passed is True


def test_json_path_matches_a_number_as_json_text() -> None:
    ctx = json_sample({"n": 42})
    assert verdict("json_path", {"path": "$.n", "matches": "^4"}, ctx).passed is True


def test_json_path_exists_true() -> None:
    ctx = json_sample({"id": None})
    assert verdict("json_path", {"path": "$.id", "exists": True}, ctx) == Verdict(
        True, 1.0, "json_path $.id exists true: 1 matched"
    )


def test_json_path_exists_false_fails_when_present() -> None:
    ctx = json_sample({"id": 1})
    assert verdict("json_path", {"path": "$.id", "exists": False}, ctx).passed is False


def test_json_path_exists_false_passes_when_absent() -> None:
    assert verdict("json_path", {"path": "$.id", "exists": False}, json_sample({})).passed is True


def test_json_path_on_non_json_output_fails() -> None:
    result = verdict("json_path", {"path": "$.id", "exists": False}, "plain text")
    assert result == Verdict(False, 0.0, "json_path $.id: output is not JSON", evaluated=False)


def test_json_path_parses_text_output() -> None:
    assert verdict("json_path", {"path": "$[-1]", "equals": 3}, "[1, 2, 3]").passed is True


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("$.a", "expected a mapping with a string 'path'"),
        ({"equals": 1}, "expected a mapping with a string 'path'"),
        ({"path": "$.a"}, "needs exactly one operator, got 0"),
        ({"path": "$.a", "equals": 1, "exists": True}, "needs exactly one operator, got 2"),
        ({"path": "$.a", "is": 1}, "unknown key 'is'"),
        ({"path": "$.a", "exists": "yes"}, "'exists' takes true or false"),
        ({"path": "$.a", "matches": 5}, "'matches' takes a regex string"),
        ({"path": "$.a", "matches": "("}, 'invalid regex "("'),
        ({"path": "a", "equals": 1}, "invalid JSON path 'a': expected '$', found 'a' at column 1"),
    ],
)
def test_json_path_argument_errors(arg: Any, message: str) -> None:
    assert arg_error("json_path", arg).message.startswith(message)


def test_json_path_bad_path_says_where_and_hints_at_quoting_a_key() -> None:
    error = arg_error("json_path", {"path": "$.order-id", "exists": True})
    assert error.message == (
        "invalid JSON path '$.order-id': expected '.', '..' or a bracketed selection,"
        " found '-' at column 8"
    )
    assert error.hint is not None and "quote keys that are not names: $['order-id']" in error.hint
