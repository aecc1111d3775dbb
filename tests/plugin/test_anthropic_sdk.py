"""A flow that calls its model with the real anthropic SDK (httpx2 underneath): its requests
reach the loopback Messages API server once, are captured into the run's cache and trace, and a
rerun replays them (DESIGN §10)."""

from __future__ import annotations

import json

import pytest

from tests.loopback_anthropic import AnthropicServer
from tests.loopback_fixtures import TEST_API_KEY


@pytest.fixture
def sdk(pytester: pytest.Pytester, anthropic_env: AnthropicServer) -> AnthropicServer:
    pytester.copy_example("anthropic_flow_sdk")
    anthropic_env.set_model("sdk-bot", lambda request: request.user_text.upper())
    return anthropic_env


def test_sdk_calls_are_made_once_then_replayed(
    pytester: pytest.Pytester, sdk: AnthropicServer
) -> None:
    first = pytester.runpytest("--promptcheck-report", "out.json")
    first.assert_outcomes(passed=2, failed=1)
    requests = sdk.completion_requests
    assert len(requests) == 3
    # the SDK's own choices (anthropic 2.14 sends a Bearer token and a newer API version)
    assert all(TEST_API_KEY in json.dumps(r.headers) for r in requests)
    assert all("anthropic-version" in r.headers for r in requests)
    text = (pytester.path / "out.json").read_text()
    assert "sdk POST /v1/messages" in json.dumps(json.loads(text)["cases"])
    assert TEST_API_KEY not in text
    sdk.reset()
    pytester.runpytest("--promptcheck-cache=replay").assert_outcomes(passed=2, failed=1)
    assert sdk.completion_requests == []
