"""The pieces of a flow's result: the synthesized completion, the trace, replay's nearest."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_promptcheck.checks.api import SampleContext
from pytest_promptcheck.checks.flow import max_model_calls
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.planning import CallPlan
from pytest_promptcheck.records import Completion, ModelRequest, ToolCall
from pytest_promptcheck.replay import nearest_request
from pytest_promptcheck.trace import TraceStep, first_moved, output_text, synthesized


def step(name: str, text: str, **usage: object) -> TraceStep:
    done = Completion(text, "m", **usage)  # type: ignore[arg-type]
    return TraceStep(name, "openai:m", "fp", done)


def test_budgets_add_up_and_tool_calls_keep_their_order() -> None:
    first = step("a", "x", tokens_in=3, tokens_out=4, latency_ms=100.0, cost_usd=0.5)
    second = TraceStep(
        "b",
        "openai:m",
        "fp",
        Completion("y", "m2", 1, 2, 50.0, 0.25, tool_calls=(ToolCall("t", "{}"),)),
    )
    done = synthesized("out", [first, second])
    assert (done.text, done.tokens_in, done.tokens_out) == ("out", 4, 6)
    assert (done.latency_ms, done.cost_usd, done.model_reported) == (150.0, 0.75, "m2")
    assert done.tool_calls == (ToolCall("t", "{}"),)
    assert not done.cached


def test_an_unknown_cost_in_one_step_is_unknown_for_the_flow() -> None:
    done = synthesized("out", [step("a", "x", cost_usd=0.1), step("b", "y")])
    assert done.cost_usd is None


def test_output_is_a_str_as_it_is_or_json() -> None:
    assert output_text("plain") == "plain"
    assert output_text({"a": [1, "é"]}) == '{"a": [1, "é"]}'
    with pytest.raises(TypeError):
        output_text(object())
    with pytest.raises(ValueError):
        output_text(float("nan"))


def test_the_baseline_trace_leaves_out_the_cache_flag() -> None:
    recorded = step("a", "x").to_json(cached=False)
    assert "cached" not in recorded and "tool_calls" not in recorded
    assert step("a", "x").to_json()["cached"] is False


def test_first_moved_step() -> None:
    before = [{"step": "a", "output": "1"}, {"step": "b", "output": "2"}]
    assert first_moved(before, before) is None
    assert first_moved(before, [before[0], {"step": "b", "output": "3"}]) == 1
    assert first_moved(before, before[:1]) == 1


def test_replay_names_the_nearest_recorded_request_with_a_diff() -> None:
    def request(text: str) -> ModelRequest:
        return ModelRequest("openai:m", ({"role": "user", "content": text},), None)

    recorded = [
        {"step": "far", "request": request("something else entirely").payload()},
        {"step": "near", "request": request("How many in Rome?").payload()},
    ]
    text = nearest_request(request("How many in Rome today?"), recorded)
    assert "nearest recorded request: step near" in text
    assert '-   "content": "How many in Rome?",' in text
    assert '+   "content": "How many in Rome today?",' in text
    assert "no request of this flow case" in nearest_request(request("x"), None)


def test_plan_line_says_what_the_cache_knows_of_flows() -> None:
    plan = CallPlan(12, 9, in_flows=9, flows_live=1, flows_unrecorded=2)
    assert plan.describe() == (
        "promptcheck: 12 model calls (9 inside flows, as recorded; 2 flow cases not recorded "
        "yet): 3 live, 9 from cache"
    )


def test_max_model_calls_counts_the_trace() -> None:
    check = max_model_calls(2, Path())
    ctx = SampleContext("out", Completion("out", "m"), trace=(step("a", "x"),) * 3)
    assert not check(ctx).passed
    assert "3 calls, over the limit of 2" in check(ctx).reason
    assert check(SampleContext("out", Completion("out", "m"))).passed  # a prompt: one call
    with pytest.raises(CheckArgError):
        max_model_calls(-1, Path())
