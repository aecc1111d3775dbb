"""Checks see the case's baseline outputs (``SampleContext.recorded``): when they build their
model calls in the call phase and when the item judges."""

from __future__ import annotations

import re

import pytest

from tests.loopback import LoopbackServer


def _grader(request_text: str) -> str:
    """Says yes when the reply is the recorded one."""
    before = re.search(r"<before>(.*)</before>", request_text)
    now = re.search(r"<now>(.*)</now>", request_text)
    return "yes" if before and now and before.group(1) == now.group(1) else "no"


def test_checks_compare_with_the_recorded_outputs(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    pytester.copy_example("recorded_check")
    openai_env.set_model("writer", lambda request: f"Hello {request.user_text.split()[-1]}!")
    openai_env.set_model("grader", lambda request: _grader(request.user_text))
    pytester.runpytest().assert_outcomes(passed=2)
    assert {r.user_text.splitlines()[1] for r in openai_env.requests_for("grader")} == {
        "<before>none</before>"
    }
    pytester.runpytest("--promptcheck-update-baseline").assert_outcomes(passed=2)

    openai_env.set_model("writer", lambda request: f"Bye {request.user_text.split()[-1]}!")
    openai_env.reset()
    moved = pytester.runpytest("--promptcheck-cache=refresh")
    moved.assert_outcomes(failed=2)
    moved.stdout.fnmatch_lines(["*as_before: was 'Hello Ana!'*"])
    asked = sorted(r.user_text.splitlines()[1] for r in openai_env.requests_for("grader"))
    assert asked == ["<before>Hello Ana!</before>", "<before>Hello Bo!</before>"]
