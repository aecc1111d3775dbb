"""A flow that calls its model with the real openai SDK (sync and async clients): its requests
are captured into the run's cache and trace without a change to its code (DESIGN §10)."""

from __future__ import annotations

import json

import pytest

from tests.loopback import LoopbackServer


@pytest.fixture
def sdk(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("flows_sdk")
    openai_env.set_model("sdk-bot", lambda request: request.user_text.upper())
    return openai_env


def test_sdk_calls_are_made_once_then_replayed(
    pytester: pytest.Pytester, sdk: LoopbackServer
) -> None:
    first = pytester.runpytest("--promptcheck-report", "out.json")
    first.assert_outcomes(passed=3, failed=1)
    first.stdout.fnmatch_lines(["*wrong failed*"])
    # the async flow sends the same request twice: two occurrences, two calls
    assert len(sdk.completion_requests) == 5
    cases = json.loads((pytester.path / "out.json").read_text())["cases"]
    assert "sdk POST /v1/chat/completions" in json.dumps(cases)
    sdk.reset()
    pytester.runpytest().assert_outcomes(passed=3, failed=1)
    pytester.runpytest("--promptcheck-cache=replay").assert_outcomes(passed=3, failed=1)
    assert sdk.completion_requests == []


def test_a_replay_miss_inside_the_sdk_is_an_error(
    pytester: pytest.Pytester, sdk: LoopbackServer
) -> None:
    result = pytester.runpytest("--promptcheck-cache=replay", "-k", "rome")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--promptcheck-cache=use*"])
    assert sdk.completion_requests == []


def test_under_xdist_each_sdk_call_is_made_once(
    pytester: pytest.Pytester, sdk: LoopbackServer
) -> None:
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=3, failed=1)
    bodies = sorted(json.dumps(r.body, sort_keys=True) for r in sdk.completion_requests)
    assert len(bodies) == 5
