"""Checks on the output as text: contains, starts_with, regex, one_of, length, refusal."""

from __future__ import annotations

from pytest_promptcheck.checks.api import Verdict
from tests.checks.support import arg_error, json_sample, verdict

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
