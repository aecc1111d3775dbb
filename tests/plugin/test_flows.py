"""Flows (DESIGN §10): a prompt file names an application function whose inner model calls go
through the run's client, cache and reports."""

from __future__ import annotations

import json
import re
import sys

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


def _drift_of(pytester: pytest.Pytester, *args: str) -> dict[str, dict[str, object]]:
    pytester.runpytest(*args, "--promptcheck-report", "out.json")
    report = json.loads((pytester.path / "out.json").read_text())
    return {case["case"]: case["drift"] for case in report["cases"]}


def test_flow_changed_is_the_flow_modules_source(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    pytester.runpytest("answer.prompt.yaml", "--promptcheck-update-baseline")
    flows_py = pytester.path / "flowapp/flows.py"
    flows_py.write_text(flows_py.read_text() + "\n# a comment is a change of the flow's code\n")
    drift = _drift_of(pytester, "answer.prompt.yaml")
    assert drift["rome"]["causes"] == ["flow changed"]


def test_a_changed_step_prompt_is_named(pytester: pytest.Pytester, flows: LoopbackServer) -> None:
    pytester.runpytest("answer.prompt.yaml", "--promptcheck-update-baseline")
    step = pytester.path / "steps/phrase.prompt.yaml"
    step.write_text(step.read_text().replace("Phrase the answer", "Phrase the answer politely"))
    drift = _drift_of(pytester, "answer.prompt.yaml")
    assert drift["rome"]["cause_text"] == "prompt changed (step phrase)"


def test_failure_report_shows_the_trace_and_the_step_that_moved(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    pytester.runpytest("answer.prompt.yaml", "--promptcheck-update-baseline")
    flows.set_model("flow-bot", lambda r: flow_bot(r).replace("Rome", "Oslo"))
    result = pytester.runpytest("answer.prompt.yaml", "--promptcheck-cache=off")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*rome failed: 1 of 2 checks",
            "*trace   2 model calls",
            "*1. to_sql [[]openai:flow-bot] live, * ms, * tokens: *Oslo*",
            "*2. phrase [[]openai:flow-bot] live*",
            "*step    1 (to_sql) is the first whose output differs from the baseline's",
        ]
    )


def test_replay_miss_names_the_nearest_recorded_request(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    pytester.runpytest("answer.prompt.yaml").assert_outcomes(passed=2)
    flows.reset()
    prompt = pytester.path / "answer.prompt.yaml"
    prompt.write_text(prompt.read_text().replace("live in Rome?", "live in Rome today?"))
    result = pytester.runpytest("answer.prompt.yaml", "-k", "rome", "--promptcheck-cache=replay")
    result.assert_outcomes(errors=1)
    assert flows.requests == []
    result.stdout.fnmatch_lines(
        [
            "*rome errored: flow flowapp.flows:answer, call 1: to_sql: no recorded response*",
            "*nearest recorded request: step to_sql",
            '*-*"content": "Write SQL for: How many users live in Rome?"*',
            '*+*"content": "Write SQL for: How many users live in Rome today?"*',
        ]
    )


def test_max_calls_counts_live_inner_calls_and_stops_the_run(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    result = pytester.runpytest("answer.prompt.yaml", "--promptcheck-max-calls=1")
    assert len(flows.completion_requests) == 1
    result.stdout.fnmatch_lines(["*--promptcheck-max-calls=1 reached*"])
    assert result.ret != 0


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_xdist_gives_the_same_verdicts_and_no_call_twice(
    pytester: pytest.Pytester, flows: LoopbackServer, workers: list[str]
) -> None:
    result = pytester.runpytest_subprocess("answer.prompt.yaml", "loop.prompt.yaml", *workers)
    result.assert_outcomes(passed=3)
    assert len(flows.completion_requests) == 4 + 3


def test_a_step_output_that_breaks_its_format_is_raised_into_the_flow(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    result = pytester.runpytest("json_step.prompt.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*not_json errored: flow flowapp.flows:json_step raised "
            "*StepFormatError: ctx.run('as_json'): *",
            '*flowapp/flows.py", line *, in json_step',
        ]
    )


def test_merged_shards_of_flows_write_the_html_of_one_run(
    pytester: pytest.Pytester, flows: LoopbackServer
) -> None:
    """A flow's sample made one call per step: merge counts them as the run did, so the merged
    page is the one run's, byte for byte."""
    for name in ("broken", "json_step"):  # errors are reported apart; keep the flows that run
        (pytester.path / f"{name}.prompt.yaml").unlink()
    pytester.runpytest("--promptcheck-update-baseline")
    pytester.runpytest("--promptcheck-report=one.html")
    for k in (1, 2):
        pytester.runpytest(f"--promptcheck-shard={k}/2", f"--promptcheck-report=shard-{k}.json")
    shards = sorted(str(p) for p in pytester.path.glob("shard-*.json"))
    merged = pytester.run(
        sys.executable, "-m", "pytest_promptcheck", "merge", *shards, "--report", "merged.html"
    )
    assert merged.ret == pytest.ExitCode.OK, merged.stdout.str()
    assert (pytester.path / "merged.html").read_bytes() == (pytester.path / "one.html").read_bytes()
