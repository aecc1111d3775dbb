"""The reasoning of a check that asks a model (a judge) reaches the baseline and the reports:
the .html page shows it; other checks' reasons are not kept."""

from __future__ import annotations

import json

import pytest

from tests.loopback import LoopbackServer


def test_a_judge_keeps_its_reasoning_and_other_checks_stay_as_they_were(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    pytester.copy_example("judge_check")
    openai_env.set_model("writer", lambda request: "Hello Ana!")
    openai_env.set_model("grader", lambda request: "PASS\nWarm, and it uses her name.")
    pytester.runpytest("--promptcheck-update-baseline").assert_outcomes(passed=1)
    recorded = json.loads((pytester.path / "__promptcheck__" / "reply.json").read_text())
    checks = recorded["cases"]["ana"]["samples"][0]["checks"]
    assert checks[0] == {"check": 'contains "Hello"', "passed": True, "score": 1.0}
    assert checks[1]["reason"] == "Warm, and it uses her name."

    openai_env.set_model("writer", lambda request: "Hello.")
    openai_env.set_model("grader", lambda request: "FAIL\nCurt: no name, no warmth.")
    pytester.runpytest("--promptcheck-cache=refresh", "--promptcheck-report=out.json")
    case = json.loads((pytester.path / "out.json").read_text())["cases"][0]
    assert case["result"]["samples"][0]["checks"][1]["reason"] == "Curt: no name, no warmth."
    assert case["baseline"]["samples"][0]["checks"][1]["reason"] == "Warm, and it uses her name."
