"""A judge on ``anthropic:``: its structured verdict comes through a forced tool (DESIGN §3),
end to end: the writer on the OpenAI-compatible loopback server, the judge on the Messages API
one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.loopback import LoopbackServer, RecordedRequest
from tests.loopback_anthropic import AnthropicServer


def _forced_tool_judge(request: RecordedRequest) -> str:
    """Passes an output that mentions 'refund', answering through the forced tool only."""
    body: dict[str, Any] = request.body
    choice = body.get("tool_choice") or {}
    if choice.get("type") != "tool":
        return "no forced tool: I answer prose"
    (tool,) = [t for t in body["tools"] if t["name"] == choice["name"]]
    assert set(tool["input_schema"]["required"]) == {"reasoning", "pass"}
    passed = "refund" in request.user_text.lower()
    return json.dumps({"reasoning": f"mentions refund: {passed}", "pass": passed})


def test_a_judge_on_anthropic_answers_through_a_forced_tool(
    pytester: pytest.Pytester, openai_env: LoopbackServer, anthropic_env: AnthropicServer
) -> None:
    pytester.copy_example("judge")
    path = pytester.path / "answer.prompt.yaml"
    path.write_text(path.read_text().replace("model: openai:judge", "model: anthropic:judge"))
    anthropic_env.set_model("judge", _forced_tool_judge)

    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAIL  judge anthropic:judge: fail: mentions refund: False*"])
    assert len(anthropic_env.completion_requests) == 3
    system = anthropic_env.completion_requests[0].body["system"]
    assert "refund" in system  # the rubric is in the hoisted system prompt

    anthropic_env.reset()
    pytester.runpytest().assert_outcomes(passed=2, failed=1)
    assert anthropic_env.completion_requests == []
