"""The python check."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_promptcheck.checks.api import SampleContext, Verdict
from tests.checks.support import arg_error, sample, verdict

# --- python check ---------------------------------------------------------------------------

CHECKS_MODULE = """
    from pytest_promptcheck import Verdict

    seen = []

    def polite(output, case):
        return "please" in output

    def score(output, case):
        return float(case["vars"]["score"])

    def verdict(output, case):
        return Verdict(False, 0.25, "custom reason")

    def scored_verdict(output, case):
        return Verdict(True, float(case["vars"]["score"]), "its own reason")

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


@pytest.mark.parametrize("score", [float("nan"), float("inf"), float("-inf")])
def test_python_verdict_with_a_nan_or_infinite_score_fails_unevaluated(
    user_checks: str, tmp_path: Path, score: float
) -> None:
    target = f"{user_checks}:scored_verdict"
    assert verdict("python", target, scored(score), tmp_path) == Verdict(
        False, 0.0, f"python {target}: returned a Verdict scoring {score}", evaluated=False
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
