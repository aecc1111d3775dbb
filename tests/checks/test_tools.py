"""The tool-call checks: tool_called, not_tool_called, tool_sequence, tool_calls_valid."""

from __future__ import annotations

import json
from itertools import permutations
from typing import Any

import pytest

from pytest_promptcheck.checks.api import SampleContext
from pytest_promptcheck.records import Completion, ToolCall
from pytest_promptcheck.schemas import Schema
from pytest_promptcheck.tools import Tool
from tests.checks.support import arg_error, verdict

WEATHER = Tool(
    "get_weather",
    None,
    Schema({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
)
BOOK = Tool("book", None, Schema({"type": "object"}))


def calls(*pairs: tuple[str, Any]) -> SampleContext:
    """A sample calling tools: (name, arguments) where arguments is data or raw text."""
    made = tuple(
        ToolCall(name, args if isinstance(args, str) else json.dumps(args)) for name, args in pairs
    )
    completion = Completion(text="", model_reported="m", tool_calls=made)
    return SampleContext("", completion, tools=(WEATHER, BOOK))


# tool_called


def test_called_with_a_literal_argument() -> None:
    ctx = calls(("get_weather", {"city": "Paris", "unit": "C"}))
    assert verdict("tool_called", {"name": "get_weather", "args": {"city": "Paris"}}, ctx).passed
    assert not verdict("tool_called", {"name": "get_weather", "args": {"city": "Rome"}}, ctx).passed


def test_literal_arguments_compare_as_json() -> None:
    ctx = calls(("book", {"seats": 2, "ids": [1, 2], "when": {"d": 1}}))
    arg = {"name": "book", "args": {"seats": 2.0, "ids": [1, 2], "when": {"d": 1}}}
    assert verdict("tool_called", arg, ctx).passed
    assert not verdict("tool_called", {"name": "book", "args": {"seats": "2"}}, ctx).passed


def test_an_argument_check_runs_on_the_value() -> None:
    ctx = calls(("get_weather", {"city": "Paris, France"}))
    assert verdict(
        "tool_called", {"name": "get_weather", "args": {"city": {"icontains": "paris"}}}, ctx
    ).passed
    assert not verdict(
        "tool_called", {"name": "get_weather", "args": {"city": {"not_contains": "France"}}}, ctx
    ).passed


def test_an_unlisted_or_missing_argument() -> None:
    ctx = calls(("get_weather", {"city": "Paris"}))
    assert not verdict("tool_called", {"name": "get_weather", "args": {"unit": "C"}}, ctx).passed


def test_count_bounds_the_matching_calls() -> None:
    ctx = calls(("book", {"id": 1}), ("book", {"id": 2}), ("get_weather", {"city": "X"}))
    assert verdict("tool_called", {"name": "book", "count": {"min": 2, "max": 2}}, ctx).passed
    failed = verdict("tool_called", {"name": "book", "count": {"max": 1}}, ctx)
    assert not failed.passed
    assert failed.reason.startswith(
        "tool_called book: 2 matching calls, expected exactly 1; called ["
    )


def test_max_zero_alone_means_never() -> None:
    assert verdict("tool_called", {"name": "book", "count": {"max": 0}}, calls()).passed
    assert not verdict(
        "tool_called", {"name": "book", "count": {"max": 0}}, calls(("book", {}))
    ).passed


def test_not_tool_called_is_the_negation() -> None:
    ctx = calls(("get_weather", {"city": "Paris"}))
    assert verdict("not_tool_called", {"name": "book"}, ctx).passed
    assert not verdict("not_tool_called", {"name": "get_weather"}, ctx).passed
    assert verdict("not_tool_called", {"name": "book"}, calls()).passed  # nothing called


def test_reason_lists_expected_against_called_clipped() -> None:
    ctx = calls(*[("get_weather", {"city": "x" * 100})] * 5)
    reason = verdict("tool_called", {"name": "book"}, ctx).reason
    assert reason.startswith("tool_called book: 0 matching calls, expected at least 1; called [")
    assert len(reason) < 260 and reason.endswith("…")


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("get_weather", "expected a mapping with a tool 'name', got the string"),
        ({"name": "x", "arg": {}}, "unknown field 'arg'"),
        ({"name": "x", "args": [1]}, "args: expected a mapping of argument names to values"),
        ({"name": "x", "count": {"min": -1}}, "min: expected a whole number of 0 or more"),
        ({"name": "x", "count": {"min": 3, "max": 2}}, "count: min 3 is above max 2"),
        ({"name": "x", "args": {"c": {"icontain": "p"}}}, "args.c: 'icontain' is not a check"),
        ({"name": "x", "args": {"c": {"regex": "("}}}, "args.c: regex: invalid regex"),
    ],
)
def test_tool_called_argument_errors(arg: Any, message: str) -> None:
    assert message in arg_error("tool_called", arg).message


# tool_sequence


@pytest.mark.parametrize(
    ("mode", "steps", "names", "passed"),
    [
        ("exact", ["a", "b"], ["a", "b"], True),
        ("exact", ["a", "b"], ["a", "b", "c"], False),
        ("exact", [], [], True),  # nothing expected, nothing called
        ("in_order", ["a", "c"], ["a", "b", "c"], True),
        ("in_order", ["c", "a"], ["a", "b", "c"], False),
        ("in_order", ["a", "a"], ["a", "b"], False),
        ("in_order", [], [], True),
        ("any_order", ["c", "a"], ["a", "b", "c"], True),
        ("any_order", ["a", "a"], ["a", "b"], False),  # multiplicity counts
        ("any_order", ["a", "a"], ["a", "b", "a"], True),
    ],
)
def test_sequence_modes(mode: str, steps: list[str], names: list[str], passed: bool) -> None:
    ctx = calls(*[(name, {}) for name in names])
    result = verdict("tool_sequence", {"steps": steps, "mode": mode}, ctx)
    assert result.passed is passed
    assert result.reason.startswith(
        f"tool_sequence {mode}: expected [{', '.join(steps)}], called ["
    )


def test_sequence_mode_defaults_to_exact() -> None:
    assert not verdict("tool_sequence", {"steps": ["a"]}, calls(("a", {}), ("a", {}))).passed


def test_any_order_does_not_depend_on_the_order_of_steps() -> None:
    ctx = calls(("a", {}), ("b", {}), ("a", {}), ("c", {}))
    for steps in permutations(["a", "a", "c"]):
        assert verdict("tool_sequence", {"steps": list(steps), "mode": "any_order"}, ctx).passed


def test_tool_called_does_not_depend_on_the_order_of_expectations() -> None:
    # a greedy pairing of expectations with calls would let the first claim the only match
    ctx = calls(("book", {"id": 1, "seat": "A"}), ("book", {"id": 1, "seat": "B"}))
    loose = {"name": "book", "args": {"id": 1}}
    tight = {"name": "book", "args": {"seat": "A"}}
    assert verdict("tool_called", loose, ctx).passed and verdict("tool_called", tight, ctx).passed


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        (["a"], "expected a mapping with 'steps' (and 'mode')"),
        ({"steps": "a"}, "steps: expected a list of tool names"),
        ({"steps": ["a"], "mode": "sorted"}, "mode is 'sorted', expected one of exact"),
    ],
)
def test_sequence_argument_errors(arg: Any, message: str) -> None:
    assert message in arg_error("tool_sequence", arg).message


# tool_calls_valid


def test_valid_calls_and_no_calls_pass() -> None:
    assert verdict("tool_calls_valid", True, calls(("get_weather", {"city": "P"}))).passed
    assert verdict("tool_calls_valid", True, calls(("book", ""))).passed  # no arguments: {}
    assert verdict("tool_calls_valid", True, calls()).passed


def test_arguments_that_are_not_json_show_the_raw_text() -> None:
    result = verdict("tool_calls_valid", True, calls(("get_weather", "{city: Paris")))
    assert not result.passed
    assert result.reason == (
        "tool_calls_valid: call 1 get_weather: arguments are not valid JSON: '{city: Paris'"
    )


def test_arguments_are_validated_against_the_parameters() -> None:
    result = verdict("tool_calls_valid", True, calls(("book", {}), ("get_weather", {"city": 3})))
    assert result.reason == (
        "tool_calls_valid: call 2 get_weather: arguments do not match its parameters:"
        " $.city: 3 is not of type 'string'"
    )


def test_a_tool_not_offered_fails() -> None:
    result = verdict("tool_calls_valid", True, calls(("rm_rf", {}), ("nope", "x")))
    assert result.reason == (
        "tool_calls_valid: call 1 rm_rf: not an offered tool (offered: get_weather, book)"
        " (and 1 more)"
    )


def test_tool_calls_valid_takes_true_only() -> None:
    assert "expected true" in arg_error("tool_calls_valid", False).message
