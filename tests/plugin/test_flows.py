"""Flows (DESIGN §10): a prompt file names an application function whose inner model calls go
through the run's client, cache and reports."""

from __future__ import annotations

import json
import re

import pytest

from tests.loopback import LoopbackServer, RecordedRequest


def flow_bot(request: RecordedRequest) -> str:
    """Writes 'SQL' naming the city asked about, and phrases the rows it is given."""
    text = request.user_text
    if text.startswith("Write SQL for:"):
        city = next((c for c in ("Rome", "Paris", "Oslo") if c in text), "nowhere")
        return f"SELECT count(*) FROM users WHERE city = '{city}'"
    rows = re.search(r"rows \[(\d*)\]", text)
    if rows is not None:
        return f"{rows.group(1) or 'No'} users."
    return "hi"


@pytest.fixture
def flows(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("flows")
    openai_env.set_model("flow-bot", flow_bot)
    return openai_env


def test_sync_flow_runs_its_steps_through_the_client(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    result = pytester.runpytest("answer.prompt.yaml")
    result.assert_outcomes(passed=2)
    assert len(flows.completion_requests) == 4
    result.stdout.fnmatch_lines(["*promptcheck: 0 model calls (2 flow cases not recorded yet)*"])


def test_rerun_is_cached_and_the_plan_counts_recorded_calls(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    pytester.runpytest("answer.prompt.yaml").assert_outcomes(passed=2)
    flows.reset()
    result = pytester.runpytest("answer.prompt.yaml", "--promptcheck-cache=replay")
    result.assert_outcomes(passed=2)
    assert flows.completion_requests == []
    result.stdout.fnmatch_lines(
        ["*promptcheck: 4 model calls (4 inside flows, as recorded): 0 live, 4 from cache*"]
    )


def test_async_flow_and_a_step_by_path(pytester: pytest.Pytester, flows: LoopbackServer) -> None:
    pytester.runpytest("answer_async.prompt.yaml").assert_outcomes(passed=1)
    assert len(flows.completion_requests) == 2


def test_identical_requests_are_keyed_by_occurrence(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    pytester.runpytest("loop.prompt.yaml").assert_outcomes(passed=1)
    assert len(flows.completion_requests) == 3
    flows.reset()
    pytester.runpytest("loop.prompt.yaml").assert_outcomes(passed=1)
    assert flows.completion_requests == []


def test_an_exception_in_the_flow_is_an_error_with_its_own_traceback(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    result = pytester.runpytest("broken.prompt.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*boom errored: flow flowapp.flows:broken raised ZeroDivisionError: division by zero",
            "*Traceback (the flow's code, most recent call last):",
            '*flowapp/flows.py", line *, in broken',
            '*flowapp/flows.py", line *, in helper_that_fails',
        ]
    )
    assert "pytest_promptcheck" not in result.stdout.str()


def test_model_swap_swaps_every_step(pytester: pytest.Pytester, flows: LoopbackServer) -> None:
    flows.set_model("other-bot", flow_bot)
    result = pytester.runpytest("answer.prompt.yaml", "--promptcheck-model", "openai:other-bot")
    result.assert_outcomes(passed=2)
    assert {r.model for r in flows.completion_requests} == {"other-bot"}


def test_trace_in_the_baseline_and_budgets_add_up(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    pytester.runpytest("answer.prompt.yaml", "--promptcheck-update-baseline").assert_outcomes(
        passed=2
    )
    entry = json.loads((pytester.path / "__promptcheck__/answer.json").read_text())["cases"]["rome"]
    trace = entry["samples"][0]["trace"]
    assert [step["step"] for step in trace] == ["to_sql", "phrase"]
    assert "cached" not in trace[0]
    sample = entry["samples"][0]
    assert sample["tokens_in"] == sum(step["tokens_in"] for step in trace)
    assert entry["prompt"]["flow"]
