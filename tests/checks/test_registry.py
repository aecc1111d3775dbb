"""The check registry: registration, unknown types, negation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.checks.api import CheckFn, Verdict
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from tests.checks.support import HERE, PASS, PROJECT, arg_error, sample, verdict

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
        "judge",
        "length",
        "max_cost_usd",
        "max_latency_ms",
        "max_model_calls",
        "max_tokens",
        "one_of",
        "python",
        "refusal",
        "regex",
        "schema",
        "similar",
        "starts_with",
        "tool_called",
        "tool_calls_valid",
        "tool_sequence",
    ]


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
