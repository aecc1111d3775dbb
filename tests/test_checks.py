"""Built-in checks, negation and the registry."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.checks import CheckRegistry, builtin_registry
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.jsonpath import JsonPathError, format_path, parse_path
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion
from pytest_promptcheck.verdict import NOT_JSON, CheckFn, SampleContext, Verdict

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
    return builtin_registry(Project.at(base_dir)).compile(kind, arg, base_dir)


def verdict(kind: str, arg: Any, ctx: SampleContext | str, base_dir: Path = HERE) -> Verdict:
    return check(kind, arg, base_dir)(sample(ctx) if isinstance(ctx, str) else ctx)


def arg_error(kind: str, arg: Any, base_dir: Path = HERE) -> CheckArgError:
    with pytest.raises(CheckArgError) as info:
        check(kind, arg, base_dir)
    return info.value


def json_sample(data: Any) -> SampleContext:
    return sample("<json>", json=data, json_format=True)


# --- registry -------------------------------------------------------------------------------


def test_names_are_sorted_base_names() -> None:
    # every built-in, by name: a check lost when the checks move between modules fails here
    assert builtin_registry(PROJECT).names() == [
        "contains",
        "contains_all",
        "contains_any",
        "equals",
        "icontains",
        "json_path",
        "length",
        "max_cost_usd",
        "max_latency_ms",
        "max_tokens",
        "one_of",
        "python",
        "refusal",
        "regex",
        "schema",
        "starts_with",
    ]


def test_similar_and_judge_are_not_registered_yet() -> None:
    assert not {"similar", "judge"} & set(builtin_registry(PROJECT).names())


def test_each_builtin_registry_is_fresh() -> None:
    first = builtin_registry(PROJECT)
    first.register("mine", lambda arg, base: lambda ctx: Verdict(True, 1.0, "mine"))
    assert "mine" not in builtin_registry(PROJECT).names()


def test_duplicate_registration_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'contains' is already registered"):
        builtin_registry(PROJECT).register(
            "contains", lambda arg, base: lambda ctx: Verdict(True, 1, "")
        )


def test_not_prefix_cannot_be_registered() -> None:
    with pytest.raises(ValueError, match="reserved"):
        CheckRegistry(PROJECT).register(
            "not_mine", lambda arg, base: lambda ctx: Verdict(True, 1, "")
        )


def test_registered_check_compiles_with_its_argument_and_base_dir(tmp_path: Path) -> None:
    registry = CheckRegistry(PROJECT)
    registry.register("echo", lambda arg, base: lambda ctx: Verdict(True, 1.0, f"{arg} {base}"))
    assert registry.compile("echo", "x", tmp_path)(sample()).reason == f"x {tmp_path}"


def test_unknown_check_suggests_the_closest_name() -> None:
    error = arg_error("contians", "x")
    assert error.message == "unknown check type 'contians'"
    assert error.hint is not None and error.hint.startswith(
        "did you mean 'contains'? known checks:"
    )


def test_unknown_negated_check_suggests_a_negated_name() -> None:
    hint = arg_error("not_contians", "x").hint
    assert hint is not None and hint.startswith("did you mean 'not_contains'?")


def test_unknown_check_without_close_match_lists_known_checks() -> None:
    hint = arg_error("zzzzzz", "x").hint
    assert hint is not None and hint.startswith("known checks: contains, contains_all")


@pytest.mark.parametrize("kind", ["similar", "judge", "not_similar"])
def test_planned_checks_are_unknown_for_now(kind: str) -> None:
    error = arg_error(kind, {"to": "x"})
    assert error.message == f"unknown check type '{kind}'"
    assert error.hint is not None and "not available yet in this version" in error.hint


def test_a_plugin_can_provide_similar() -> None:
    registry = builtin_registry(PROJECT)
    registry.register("similar", lambda arg, base: lambda ctx: Verdict(True, 0.9, "similar: 0.9"))
    assert registry.compile("similar", {"to": "x"}, HERE)(sample()).score == 0.9


# --- negation -------------------------------------------------------------------------------


def test_not_contains_passes_when_absent() -> None:
    result = verdict("not_contains", "sorry", "Refund issued.")
    assert result == Verdict(True, 1.0, 'not_contains "sorry": not found in "Refund issued."')


def test_not_contains_fails_when_present() -> None:
    result = verdict("not_contains", "sorry", "We are so sorry.")
    assert result == Verdict(False, 0.0, 'not_contains "sorry": found at 10')


def test_negation_flips_a_partial_score() -> None:
    result = verdict("not_contains_all", ["a", "b", "c", "d"], "a b c")
    assert (result.passed, result.score) == (True, 0.25)


def test_not_equals_fails_on_equal_output() -> None:
    assert verdict("not_equals", "billing", "billing").passed is False


def test_not_regex_passes_without_match() -> None:
    assert verdict("not_regex", r"\d", "no digits").passed is True


def test_negation_of_a_custom_check_prefixes_its_reason() -> None:
    registry = CheckRegistry(PROJECT)
    registry.register("mood", lambda arg, base: lambda ctx: Verdict(True, 0.75, "cheerful"))
    assert registry.compile("not_mood", None, HERE)(sample()) == Verdict(
        False, 0.25, "not_mood: cheerful"
    )


def test_negation_validates_the_argument_too() -> None:
    assert "expected a non-empty string" in arg_error("not_contains", [1, 2]).message


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
    assert reason == "equals: output is not JSON (Expecting value at line 1 column 1)"


def test_equals_json_format_that_did_not_parse_compares_text() -> None:
    ctx = sample("billing", json_format=True)
    assert verdict("equals", "billing", ctx).passed is True


def test_equals_long_values_are_clipped() -> None:
    reason = verdict("equals", "a" * 200, "b" * 200).reason
    assert len(reason) <= 120 and reason.count("…") == 2


# --- substring checks -----------------------------------------------------------------------


def test_contains_found_gives_the_position() -> None:
    assert verdict("contains", "refund", "Your refund") == Verdict(
        True, 1.0, 'contains "refund": found at 5'
    )


def test_contains_not_found_quotes_the_output_clipped() -> None:
    reason = verdict("contains", "refund", "I cannot help with " + "x" * 100).reason
    assert reason.startswith('contains "refund": not found in "I cannot help with ')
    assert reason.endswith("…") and len(reason) <= 120


def test_contains_is_case_sensitive() -> None:
    assert verdict("contains", "Refund", "refund").passed is False


def test_icontains_ignores_case() -> None:
    assert verdict("icontains", "REFUND", "a Refund") == Verdict(
        True, 1.0, 'icontains "REFUND": found at 2'
    )


def test_icontains_fails_when_absent() -> None:
    assert verdict("icontains", "refund", "nothing").passed is False


def test_contains_rejects_a_list() -> None:
    error = arg_error("contains", [1, 2])
    assert error.message == "expected a non-empty string (quote numbers), got a list"
    assert error.hint == "e.g. contains: refund"


def test_contains_rejects_an_unquoted_number() -> None:
    assert arg_error("contains", 2024).message.endswith("got the number 2024")


def test_contains_rejects_an_empty_string() -> None:
    assert arg_error("icontains", "").message.endswith("got an empty string")


def test_contains_all_passes_when_all_present() -> None:
    assert verdict("contains_all", ["a", "b"], "b a") == Verdict(
        True, 1.0, "contains_all: all 2 found"
    )


def test_contains_all_scores_the_fraction_and_lists_missing() -> None:
    result = verdict("contains_all", ["refund", "order", "sorry", "today"], "refund today")
    assert result == Verdict(False, 0.5, 'contains_all: 2 of 4 missing: ["order","sorry"]')


def test_contains_all_rejects_a_non_string_item() -> None:
    error = arg_error("contains_all", ["a", 2])
    assert (
        error.message == "item 1: expected a non-empty list of non-empty strings, got the number 2"
    )


def test_contains_any_passes_with_one_present() -> None:
    assert (
        verdict("contains_any", ["x", "refund"], "refund").reason == 'contains_any: found "refund"'
    )


def test_contains_any_fails_listing_what_was_looked_for() -> None:
    assert verdict("contains_any", ["x", "y"], "z") == Verdict(
        False, 0.0, 'contains_any: none of ["x","y"] found'
    )


def test_contains_any_rejects_an_empty_list() -> None:
    assert arg_error("contains_any", []).message.endswith("got a list")


def test_starts_with_ignores_leading_whitespace() -> None:
    assert verdict("starts_with", "Dear", "\n  Dear customer").passed is True


def test_starts_with_failure_shows_the_start() -> None:
    assert verdict("starts_with", "Dear", "Hello there") == Verdict(
        False, 0.0, 'starts_with "Dear": output starts with "Hello there"'
    )


def test_starts_with_rejects_a_mapping() -> None:
    assert arg_error("starts_with", {"a": 1}).message.endswith("got a mapping")


# --- regex, one_of, length, refusal ---------------------------------------------------------


def test_regex_searches_anywhere() -> None:
    assert verdict("regex", r"T-\d+", "ticket T-123 open") == Verdict(
        True, 1.0, 'regex "T-\\\\d+": matched "T-123" at 7'
    )


def test_regex_no_match() -> None:
    assert verdict("regex", r"^\d+$", "12a").reason == 'regex "^\\\\d+$": no match in "12a"'


def test_regex_invalid_pattern_names_the_error() -> None:
    error = arg_error("regex", "(unclosed")
    assert (
        error.message
        == 'invalid regex "(unclosed": missing ), unterminated subpattern at position 0'
    )


def test_regex_rejects_a_number() -> None:
    assert arg_error("regex", 5).message.startswith("expected a non-empty string")


BACKTRACKING = r"(a|aa)+$"  # exponential in Python's re: 'a' * 40 + 'b' takes minutes there


def test_regex_that_backtracks_forever_fails_the_sample_after_the_time_limit() -> None:
    result = verdict("regex", BACKTRACKING, "a" * 40 + "b")
    assert result == Verdict(
        False,
        0.0,
        'regex "(a|aa)+$": gave up after 1 s (catastrophic backtracking?)',
        evaluated=False,
    )


def test_not_regex_that_gives_up_fails_too() -> None:
    assert verdict("not_regex", BACKTRACKING, "a" * 40 + "b").passed is False


def test_json_path_matches_that_backtracks_forever_fails() -> None:
    ctx = json_sample({"id": "a" * 40 + "b"})
    result = verdict("json_path", {"path": "$.id", "matches": BACKTRACKING}, ctx)
    assert (result.passed, result.evaluated) == (False, False)
    assert result.reason.endswith(": gave up after 1 s (catastrophic backtracking?)")


def test_regex_keeps_python_re_syntax() -> None:
    assert (
        arg_error("regex", r"\p{L}").message
        == r'invalid regex "\\p{L}": bad escape \p at position 0'
    )
    assert verdict("regex", r"(?P<word>\w+) (?P=word)", "say it it").passed is True


def test_one_of_compares_stripped_output() -> None:
    assert verdict("one_of", ["billing", "tech"], " tech\n").passed is True


def test_one_of_fails_with_the_options_and_the_output() -> None:
    assert verdict("one_of", ["billing", "tech"], "sales") == Verdict(
        False, 0.0, 'one_of ["billing","tech"]: got "sales"'
    )


def test_one_of_compares_numbers_as_text() -> None:
    assert verdict("one_of", [1, 2, 3], "2").passed is True


def test_one_of_rejects_a_nested_list() -> None:
    assert arg_error("one_of", ["a", ["b"]]).message.startswith(
        "item 1: expected a string or number"
    )


def test_one_of_rejects_a_string() -> None:
    assert arg_error("one_of", "billing").message.startswith("expected a non-empty list of values")


def test_length_within_bounds() -> None:
    assert verdict("length", {"min_words": 2, "max_chars": 11}, "  hello world ") == Verdict(
        True, 1.0, "length: 2 words, 11 chars, in bounds"
    )


def test_length_reports_every_broken_bound() -> None:
    reason = verdict("length", {"max_words": 1, "min_chars": 50}, "two words").reason
    assert reason == "length: 2 words > max_words 1; 9 chars < min_chars 50"


def test_length_rejects_an_unknown_key() -> None:
    error = arg_error("length", {"max_lines": 3})
    assert error.message == "unknown key 'max_lines'"
    assert error.hint == "use min_words, max_words, min_chars, max_chars"


def test_length_rejects_a_non_integer_bound() -> None:
    assert arg_error("length", {"max_words": "ten"}).message == (
        'max_words: expected a non-negative integer, got the string "ten"'
    )


def test_length_needs_at_least_one_bound() -> None:
    assert arg_error("length", {}).message.startswith("expected a mapping with min_words")


def test_length_rejects_min_above_max() -> None:
    assert arg_error("length", {"min_chars": 9, "max_chars": 3}).message == (
        "min_chars 9 is more than max_chars 3"
    )


def test_refusal_false_passes_on_an_answer() -> None:
    assert verdict("refusal", False, "Your refund is on its way.") == Verdict(
        True, 1.0, "refusal: not a refusal (no refusal phrase at the start)"
    )


def test_refusal_false_fails_on_a_refusal() -> None:
    assert verdict("refusal", False, "I'm sorry, but I can't do that.") == Verdict(
        False, 0.0, 'refusal: looks like a refusal ("I\'m sorry, but" at 0)'
    )


def test_refusal_true_passes_on_a_refusal() -> None:
    assert verdict("refusal", True, "  As an AI language model, I ...").passed is True


def test_refusal_detects_a_typographic_apostrophe() -> None:
    assert verdict("refusal", False, "I can\u2019t help").passed is False


def test_refusal_ignores_phrases_past_the_start() -> None:
    assert verdict("refusal", False, "x " * 150 + "I cannot").passed is True


def test_refusal_rejects_a_string() -> None:
    assert arg_error("refusal", "no").message == 'expected true or false, got the string "no"'


# --- budgets --------------------------------------------------------------------------------


def test_max_latency_within_limit() -> None:
    assert verdict("max_latency_ms", 8000, sample(latency_ms=1234.4)) == Verdict(
        True, 1.0, "max_latency_ms: 1234 ms, within the 8000 ms limit"
    )


def test_max_latency_over_limit() -> None:
    assert verdict("max_latency_ms", 1000, sample(latency_ms=1500)).reason == (
        "max_latency_ms: 1500 ms, over the 1000 ms limit"
    )


def test_budget_limit_itself_passes() -> None:
    assert verdict("max_latency_ms", 1000, sample(latency_ms=1000)) == Verdict(
        True, 1.0, "max_latency_ms: 1000 ms, within the 1000 ms limit"
    )


def test_max_latency_rejects_a_string() -> None:
    error = arg_error("max_latency_ms", "fast")
    assert error.message == 'expected a non-negative number, got the string "fast"'
    assert error.hint == "e.g. max_latency_ms: 8000"


def test_max_latency_rejects_a_boolean() -> None:
    assert arg_error("max_latency_ms", True).message.endswith("got the boolean true")


def test_max_tokens_uses_output_tokens_only() -> None:
    assert verdict("max_tokens", 200, sample(tokens_in=5000, tokens_out=200)).passed is True


def test_max_tokens_over_budget() -> None:
    assert verdict("max_tokens", 200, sample(tokens_out=250)).reason == (
        "max_tokens: 250 tokens, over the 200 tokens limit"
    )


def test_max_tokens_rejects_a_negative_budget() -> None:
    assert arg_error("max_tokens", -1).message.endswith("got the number -1")


def test_max_cost_within_budget() -> None:
    assert verdict("max_cost_usd", 0.01, sample(cost_usd=0.0012)).reason == (
        "max_cost_usd: $0.0012, within the $0.01 limit"
    )


def test_max_cost_over_budget() -> None:
    assert verdict("max_cost_usd", 0.001, sample(cost_usd=0.0012)).passed is False


def test_max_cost_unknown_fails() -> None:
    assert verdict("max_cost_usd", 1, sample(cost_usd=None)) == Verdict(
        False, 0.0, "cost unknown: no prices configured for this model", evaluated=False
    )


# --- JSONPath subset ------------------------------------------------------------------------

DOC = {"a": {"b": 1}, "items": [{"id": 1}, {"id": 2}, {"id": 3}], "first name": "Ann"}


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("$", [DOC]),
        ("$.a.b", [1]),
        ("$['first name']", ["Ann"]),
        ('$["a"]["b"]', [1]),
        ("$.items[0].id", [1]),
        ("$.items[-1].id", [3]),
        ("$.items[*].id", [1, 2, 3]),
        ("$.a.*", [1]),
        ("$.items[3]", []),
        ("$.items[-4]", []),
        ("$.a.b.c", []),
        ("$.items.id", []),
    ],
)
def test_json_path_selects(path: str, found: list[Any]) -> None:
    assert parse_path(path).find(DOC) == found


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("a.b", "must start with '$'"),
        ("$..a", "recursive descent '..' is not supported"),
        ("$.a[", "cannot read from '['"),
        ("$[1:2]", "cannot read from '[1:2]'"),
    ],
)
def test_json_path_rejects(path: str, problem: str) -> None:
    with pytest.raises(JsonPathError, match=re.escape(problem)):
        parse_path(path)


def test_format_path_writes_dollar_dot_and_index_form() -> None:
    assert format_path(["a", "b", 0, "first name"]) == "$.a.b[0]['first name']"


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
        ({"path": "a", "equals": 1}, "JSON path 'a' must start with '$'"),
    ],
)
def test_json_path_argument_errors(arg: Any, message: str) -> None:
    assert arg_error("json_path", arg).message.startswith(message)


def test_json_path_bad_path_hint_lists_the_subset() -> None:
    hint = arg_error("json_path", {"path": "$..a", "exists": True}).hint
    assert hint == "supported: $, .key, ['key'], [N], [-1], [*], .*"


# --- schema check ---------------------------------------------------------------------------

QUEUE_SCHEMA = {"properties": {"queue": {"enum": ["billing", "tech", "other"]}}}


def test_schema_inline_valid() -> None:
    assert verdict("schema", QUEUE_SCHEMA, json_sample({"queue": "tech"})) == Verdict(
        True, 1.0, "schema: valid"
    )


def test_schema_failure_names_the_json_path() -> None:
    reason = verdict("schema", QUEUE_SCHEMA, json_sample({"queue": "sales"})).reason
    assert reason == "schema: $.queue: 'sales' is not one of ['billing', 'tech', 'other']"


def test_schema_from_a_file_relative_to_the_prompt(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"type": "array"}', encoding="utf-8")
    assert check("schema", "s.json", tmp_path)(sample("{}")).reason == (
        "schema: $: {} is not of type 'array'"
    )


def test_schema_on_non_json_text_gives_the_parse_position() -> None:
    reason = verdict("schema", QUEUE_SCHEMA, '{"queue": tech}').reason
    assert reason == "schema: output is not JSON: Expecting value at line 1 column 11"


def test_schema_prefers_the_parsed_output() -> None:
    ctx = sample('```json\n{"queue": "tech"}\n```', json={"queue": "tech"}, json_format=True)
    assert verdict("schema", QUEUE_SCHEMA, ctx).passed is True


def test_schema_missing_file_is_an_argument_error(tmp_path: Path) -> None:
    assert arg_error("schema", "nope.json", tmp_path).message.startswith(
        "schema file not found: nope.json"
    )


# --- python check ---------------------------------------------------------------------------

CHECKS_MODULE = """
    from pytest_promptcheck.verdict import Verdict

    seen = []

    def polite(output, case):
        return "please" in output

    def score(output, case):
        return float(case["vars"]["score"])

    def verdict(output, case):
        return Verdict(False, 0.25, "custom reason")

    def record(output, case):
        seen.append(case)
        return True

    def boom(output, case):
        raise ValueError("bad output\\nsecond line")

    def text(output, case):
        return "yes"

    class Grader:
        @staticmethod
        def grade(output, case):
            return 1

    NOT_CALLABLE = 3
"""


@pytest.fixture
def user_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "user_checks_mod.py").write_text(textwrap.dedent(CHECKS_MODULE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "user_checks_mod", raising=False)
    return "user_checks_mod"


def scored(value: float) -> SampleContext:
    ctx = sample("x")
    return SampleContext(ctx.text, ctx.completion, vars={"score": value})


def test_python_true_passes(user_checks: str, tmp_path: Path) -> None:
    assert verdict("python", f"{user_checks}:polite", "yes please", tmp_path) == Verdict(
        True, 1.0, f"python {user_checks}:polite: returned True"
    )


def test_python_false_fails(user_checks: str, tmp_path: Path) -> None:
    assert verdict("python", f"{user_checks}:polite", "no", tmp_path).score == 0.0


def test_python_number_below_default_min_fails(user_checks: str, tmp_path: Path) -> None:
    result = verdict("python", f"{user_checks}:score", scored(0.3), tmp_path)
    assert result == Verdict(False, 0.3, f"python {user_checks}:score: score 0.30, min 0.5")


def test_python_number_meets_a_custom_min(user_checks: str, tmp_path: Path) -> None:
    arg = {"function": f"{user_checks}:score", "min": 0.2}
    assert verdict("python", arg, scored(0.3), tmp_path).passed is True


def test_python_number_is_clamped(user_checks: str, tmp_path: Path) -> None:
    assert verdict("python", f"{user_checks}:score", scored(3.0), tmp_path).score == 1.0


def test_python_verdict_is_used_as_is(user_checks: str, tmp_path: Path) -> None:
    assert verdict("python", f"{user_checks}:verdict", "x", tmp_path) == Verdict(
        False, 0.25, "custom reason"
    )


def test_python_receives_output_and_case(user_checks: str, tmp_path: Path) -> None:
    verdict("python", f"{user_checks}:record", sample('{"a": 1}'), tmp_path)
    seen = importlib.import_module(user_checks).seen
    assert seen == [{"id": "refund", "vars": {"ticket": "charged twice"}, "json": {"a": 1}}]


def test_python_json_is_none_for_non_json_output(user_checks: str, tmp_path: Path) -> None:
    verdict("python", f"{user_checks}:record", "plain", tmp_path)
    assert importlib.import_module(user_checks).seen[0]["json"] is None


def test_python_dotted_attribute(user_checks: str, tmp_path: Path) -> None:
    assert verdict("python", f"{user_checks}:Grader.grade", "x", tmp_path).passed is True


def test_python_exception_is_a_one_line_failure(user_checks: str, tmp_path: Path) -> None:
    assert verdict("python", f"{user_checks}:boom", "x", tmp_path) == Verdict(
        False, 0.0, f"python {user_checks}:boom: raised ValueError: bad output", evaluated=False
    )


def test_python_unexpected_result_fails(user_checks: str, tmp_path: Path) -> None:
    assert verdict("python", f"{user_checks}:text", "x", tmp_path).reason == (
        f"python {user_checks}:text: returned str, expected bool, number or Verdict"
    )


def test_python_missing_module_hints_at_pythonpath() -> None:
    error = arg_error("python", "no_such_module_xyz:f")
    assert error.message.startswith("cannot import no_such_module_xyz:f: ModuleNotFoundError")
    assert error.hint is not None and "`pythonpath`" in error.hint


def test_python_missing_function_is_an_argument_error(user_checks: str, tmp_path: Path) -> None:
    error = arg_error("python", f"{user_checks}:nope", tmp_path)
    assert error.message.startswith(f"cannot import {user_checks}:nope: AttributeError")


def test_python_module_failing_on_import_is_an_argument_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_checks_mod.py").write_text("1 / 0\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = arg_error("python", "broken_checks_mod:f", tmp_path).message
    assert message == "cannot import broken_checks_mod:f: ZeroDivisionError: division by zero"


def test_python_target_needs_a_colon() -> None:
    assert arg_error("python", "module.function").message.startswith("expected 'module:function'")


def test_python_target_must_be_callable(user_checks: str, tmp_path: Path) -> None:
    assert arg_error("python", f"{user_checks}:NOT_CALLABLE", tmp_path).message == (
        f"{user_checks}:NOT_CALLABLE is not a function"
    )


def test_python_min_must_be_between_zero_and_one(user_checks: str, tmp_path: Path) -> None:
    error = arg_error("python", {"function": f"{user_checks}:score", "min": 2}, tmp_path)
    assert error.message == "min: expected a number from 0 to 1, got the number 2"


def test_python_rejects_an_unknown_key(user_checks: str, tmp_path: Path) -> None:
    error = arg_error("python", {"function": f"{user_checks}:score", "max": 1}, tmp_path)
    assert error.message == "unknown key 'max'"


def test_python_rejects_a_list() -> None:
    assert arg_error("python", ["a:b"]).message.startswith("expected 'module:function' or")


@pytest.mark.parametrize(
    ("kind", "arg"),
    [
        ("not_json_path", {"path": "$.a", "exists": True}),
        ("not_schema", {"type": "object"}),
        ("not_max_cost_usd", 0.01),
    ],
)
def test_negation_fails_when_the_check_could_not_evaluate(kind: str, arg: Any) -> None:
    result = verdict(kind, arg, sample("plain text, not JSON"))
    assert (result.passed, result.evaluated) == (False, False)


def test_a_plugin_check_confines_its_file_to_the_project(tmp_path: Path) -> None:
    registry = CheckRegistry(Project.at(tmp_path))

    def reads_file(arg: Any, prompt_dir: Path) -> CheckFn:
        registry.project.confine(prompt_dir / arg, arg)
        return lambda ctx: PASS

    registry.register("reads_file", reads_file)
    registry.compile("reads_file", "inside.txt", tmp_path)
    with pytest.raises(CheckArgError, match=r"^\.\./x\.txt is outside the project"):
        registry.compile("reads_file", "../x.txt", tmp_path)
