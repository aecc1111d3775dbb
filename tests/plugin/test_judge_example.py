"""examples/judge against the loopback writer and keyword judge: exact verdict counts, the
agreement on its labels, and the pairwise check once a baseline exists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer, RecordedRequest, rules
from tests.loopback_judge import keyword_judge

EXAMPLE = Path(__file__).parents[2] / "examples" / "judge"
ARGS = ("judge", "--promptcheck-model=openai:writer", "--promptcheck-judge-model=openai:judge")
REPLIES = {
    "charged twice": "We will refund the second charge of order 1234.",
    "parcel": "Here is your tracking link; the parcel is on its way.",
    "angry": "We are sorry to hear that; how can we help?",
}


@pytest.fixture
def example(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    shutil.copytree(EXAMPLE, pytester.path / "judge")
    openai_env.set_model("writer", rules(REPLIES))
    openai_env.set_model("judge", keyword_judge)
    return openai_env


def test_the_example_passes_and_reports_its_judge_against_the_labels(
    pytester: pytest.Pytester, example: LoopbackServer
) -> None:
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=3)
    # 3 replies; judges: refund 1 + 6 labels, delivery 3 votes, angry 1 + 2 pairwise (planned,
    # not made: no baseline yet)
    result.stdout.fnmatch_lines(
        [
            "promptcheck: 16 model calls (13 asked by checks): 16 live, 0 from cache",
            "  openai:judge on judge/labels/refund.jsonl (6 labels): kappa 0.00, TPR 0.67, "
            "TNR 0.33 (tp 2, fp 2, fn 1, tn 1)",
        ]
    )
    assert len(example.requests_for("judge")) == 11


def test_without_a_judge_model_it_says_how_to_set_one(
    pytester: pytest.Pytester, example: LoopbackServer
) -> None:
    result = pytester.runpytest("judge", "--promptcheck-model=openai:writer")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*no judge model is set", "*--promptcheck-judge-model*"])


def test_the_pairwise_check_catches_a_worse_model(
    pytester: pytest.Pytester, example: LoopbackServer
) -> None:
    pytester.runpytest(*ARGS, "--promptcheck-update-baseline").assert_outcomes(passed=3)

    def worse(request: RecordedRequest) -> str:
        return "Calm down." if "angry" in request.user_text else rules(REPLIES)(request)

    example.set_model("writer", worse)
    result = pytester.runpytest(*ARGS, "--promptcheck-cache=refresh")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*FAIL  judge openai:judge: scores 1 of 1-5: *",
            "*FAIL  judge openai:judge against the baseline: 1 loss*",
        ]
    )


def test_pytest_examples_leaves_the_judge_out(
    pytester: pytest.Pytester, example: LoopbackServer
) -> None:
    shutil.copy(EXAMPLE.parent / "conftest.py", pytester.path / "conftest.py")
    result = pytester.runpytest("--collect-only", "-q")
    assert "judge/support.prompt.yaml" not in result.stdout.str()
