"""``judge: {rubric: ..., against: baseline}``: the new output against the case's recorded one,
asked in both orders; a win or a loss counts only when both orders agree."""

from __future__ import annotations

import json

import pytest

from tests.loopback import LoopbackServer, RecordedRequest
from tests.loopback_judge import fenced_blocks, keyword_judge

PAIRWISE = "model: openai:judge}"


@pytest.fixture
def pairwise(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("judge")
    path = pytester.path / "answer.prompt.yaml"
    path.write_text(path.read_text().replace(PAIRWISE, "model: openai:judge, against: baseline}"))
    openai_env.set_model("judge", keyword_judge)
    return openai_env


def _swapped(request: RecordedRequest) -> str:
    """The new writer: mentions a refund where the old one did not, and no longer where it did."""
    return "No idea." if "refund" in request.user_text else "We will refund you."


def test_without_a_baseline_it_passes_saying_so_and_asks_nothing(
    pytester: pytest.Pytester, pairwise: LoopbackServer
) -> None:
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*9 model calls (6 asked by checks): 9 live*"])
    assert pairwise.requests_for("judge") == []


def test_a_loss_fails_a_win_passes_and_both_orders_are_asked(
    pytester: pytest.Pytester, pairwise: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline").assert_outcomes(passed=3)
    pairwise.set_model("writer", _swapped)
    result = pytester.runpytest("--promptcheck-cache=refresh")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*FAIL  judge openai:judge against the baseline: 1 loss",
            "*vote 1: loss (new as A: B, new as B: A): *",
        ]
    )
    asked = pairwise.requests_for("judge")
    assert len(asked) == 6
    orders = {(b["OUTPUT A"], b["OUTPUT B"]) for b in map(fenced_blocks, asked)}
    assert ("We will refund you.", "echo: Tell me about delivery") in orders
    assert ("echo: Tell me about delivery", "We will refund you.") in orders
    verdicts = json.loads((pytester.path / "__promptcheck__" / "answer.json").read_text())
    assert verdicts["cases"]["delivery"]["judges"][0]["model"] == "openai:judge"


def test_a_judge_that_prefers_a_position_gives_ties(
    pytester: pytest.Pytester, pairwise: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline").assert_outcomes(passed=3)
    pairwise.set_model("writer", _swapped)
    pairwise.set_model("judge", lambda request: '{"reasoning": "first!", "better": "A"}')
    result = pytester.runpytest("--promptcheck-cache=refresh", "-v")
    result.assert_outcomes(passed=3)
    assert len(pairwise.requests_for("judge")) == 6


def test_the_same_output_as_the_baseline_needs_no_call(
    pytester: pytest.Pytester, pairwise: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline").assert_outcomes(passed=3)
    pairwise.reset()
    result = pytester.runpytest("--promptcheck-cache=refresh")
    result.assert_outcomes(passed=3)
    assert pairwise.requests_for("judge") == []
