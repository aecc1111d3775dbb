"""Completion prompts (``prompt:``), text checks, samples and min_pass_rate."""

from __future__ import annotations

import itertools

import pytest

from tests.loopback import LoopbackServer, Responder, rules

OPPOSITES = {"hot": " cold", "big": " large", "up": " down"}


@pytest.fixture
def words(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("completion")
    openai_env.set_model("word-model", rules({f"of {w}:": a for w, a in OPPOSITES.items()}))
    return openai_env


def test_completion_endpoint_gets_the_rendered_prompt(
    pytester: pytest.Pytester, words: LoopbackServer
) -> None:
    pytester.runpytest("opposites.prompt.yaml::hot")
    (request,) = words.completion_requests
    assert request.path == "/v1/completions"
    assert request.body["prompt"] == "Opposite of hot:"


def test_pass_and_fail_verdicts(pytester: pytest.Pytester, words: LoopbackServer) -> None:
    result = pytester.runpytest("opposites.prompt.yaml")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*big failed: 1 of 1 checks", "*check   FAIL  equals*"])


def _cycle(*answers: str) -> Responder:
    answer = itertools.cycle(answers)
    return lambda request: next(answer)


def test_samples_meeting_min_pass_rate_pass(
    pytester: pytest.Pytester, words: LoopbackServer
) -> None:
    words.set_model("word-model", _cycle("cold", "cold", "warm", "cold"))
    result = pytester.runpytest("sampled.prompt.yaml")
    result.assert_outcomes(passed=1)
    assert len(words.completion_requests) == 4


def test_samples_below_min_pass_rate_fail(pytester: pytest.Pytester, words: LoopbackServer) -> None:
    words.set_model("word-model", _cycle("cold", "warm", "warm", "cold"))
    result = pytester.runpytest("sampled.prompt.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*hot failed: 2 of 4 samples passed, min_pass_rate 0.75 needs 3",
            "*sample ?  FAIL  score 0.00*",
        ]
    )


def test_each_sample_is_cached_on_its_own(pytester: pytest.Pytester, words: LoopbackServer) -> None:
    words.set_model("word-model", _cycle("cold", "cold", "warm", "cold"))
    pytester.runpytest("sampled.prompt.yaml")
    words.reset()
    pytester.runpytest("sampled.prompt.yaml").assert_outcomes(passed=1)
    assert words.completion_requests == []


def test_named_provider_from_pyproject(pytester: pytest.Pytester, words: LoopbackServer) -> None:
    pytester.makepyprojecttoml(f"""
        [tool.promptcheck.providers.myserver]
        type = "openai"
        base_url = "{words.base_url}"
        api_key_env = "MY_SERVER_KEY"
        price_per_1m_input = 1.0
        price_per_1m_output = 2.0
    """)
    words.set_model("word-model", rules({"hot": "cold"}))
    result = pytester.runpytest(
        "opposites.prompt.yaml::hot", "--promptcheck-model", "myserver:word-model"
    )
    result.assert_outcomes(passed=1)
    assert words.completion_requests[0].headers.get("authorization") is None
