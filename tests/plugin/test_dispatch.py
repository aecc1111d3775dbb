"""The call phase: concurrency, faults, spend control, progress and xdist."""

from __future__ import annotations

import re

import pytest

from tests.loopback import LoopbackServer, hang, rate_limit, status

CASES = 40


@pytest.fixture
def many(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("many")
    openai_env.set_model("ok-model", lambda request: "ok")
    return openai_env


def test_calls_run_concurrently_up_to_the_limit(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.latency_ms = 100
    result = pytester.runpytest("--promptcheck-concurrency=8")
    result.assert_outcomes(passed=CASES)
    assert many.max_in_flight == 8


def test_only_selected_items_are_called(pytester: pytest.Pytester, many: LoopbackServer) -> None:
    pytester.runpytest("-k", "w01 or w02").assert_outcomes(passed=2)
    assert len(many.completion_requests) == 2


def test_identical_requests_are_sent_once(pytester: pytest.Pytester, many: LoopbackServer) -> None:
    pytester.makefile(
        ".prompt.yaml", twice="model: openai:ok-model\nprompt: same\ncases: [{id: a}, {id: b}]\n"
    )
    pytester.runpytest("twice.prompt.yaml").assert_outcomes(passed=2)
    assert len(many.completion_requests) == 1


def test_faults_are_retried_until_every_case_passes(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.fault_rate = 0.25
    many.fault_kinds = [status(500), status(503), rate_limit(), rate_limit(retry_after="0.05")]
    result = pytester.runpytest()
    result.assert_outcomes(passed=CASES)
    assert result.ret == pytest.ExitCode.OK
    many.reset()
    pytester.runpytest().assert_outcomes(passed=CASES)
    assert many.completion_requests == []


def test_a_dead_provider_ends_the_run_fast_with_one_error(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.fault_rate, many.fault_kinds = 1.0, [status(503)]
    result = pytester.runpytest("--promptcheck-concurrency=4")
    result.assert_outcomes(errors=CASES)
    circuit = (
        "openai: provider unavailable: 40 consecutive failures "
        "(last: HTTP 503: Service Unavailable); circuit open"
    )
    errors = [line for line in result.stdout.lines if line.startswith("ERROR ")]
    assert len(errors) == CASES and all("openai: provider unavailab" in line for line in errors)
    assert circuit in result.stdout.str()
    # the requests that opened it and those already in flight then: none after
    assert len(many.completion_requests) < 40 + 4


def test_hung_requests_time_out_and_are_retried(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.inject(hang(10), hang(10))
    result = pytester.runpytest("--promptcheck-timeout=0.3")
    result.assert_outcomes(passed=CASES)


def test_collect_only_says_what_the_run_needs_and_calls_nothing(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    pytester.runpytest("-k", "w0")
    many.reset()
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines([f"promptcheck: {CASES} model calls: 30 live, 10 from cache"])
    assert many.completion_requests == []


def test_max_calls_refuses_a_run_that_needs_more(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    result = pytester.runpytest("--promptcheck-max-calls=39")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        ["*this run needs 40 live model calls, more than --promptcheck-max-calls=39*"]
    )
    assert many.completion_requests == []


def test_max_calls_counts_only_live_calls(pytester: pytest.Pytester, many: LoopbackServer) -> None:
    pytester.runpytest("-k", "w0")
    result = pytester.runpytest("--promptcheck-max-calls=30")
    result.assert_outcomes(passed=CASES)


def test_progress_is_shown_as_plain_lines_without_a_terminal(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["promptcheck calls: 0/40 done, 0 cached, 0 live, 0 retried, 0 errors"]
    )
    last = [line for line in result.stdout.lines if line.startswith("promptcheck calls:")][-1]
    # every call ended, or the rest were in flight as the items started; nothing was cached
    # and the server never failed, so every call that ended was live
    ended = re.fullmatch(
        r"promptcheck calls: (\d+)/40 done, 0 cached, (\d+) live, 0 retried, 0 errors"
        r"(?:; the other (\d+) are in flight as the items start)?",
        last,
    )
    assert ended, last
    done, live, in_flight = ended.groups()
    assert live == done
    assert int(in_flight or 0) == CASES - int(done)


def test_a_fully_cached_run_shows_no_progress(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    pytester.runpytest()
    result = pytester.runpytest()
    result.stdout.no_fnmatch_line("promptcheck calls:*")


def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--promptcheck-concurrency=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--promptcheck-concurrency: 0 is below the minimum of 1*"])


def test_ini_values_are_checked_too(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npromptcheck_timeout = fast\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini promptcheck_timeout: 'fast' is not a number*"])


@pytest.mark.parametrize("workers", ["0", "2"])
def test_xdist_gives_the_same_verdicts_without_repeating_a_call(
    pytester: pytest.Pytester, many: LoopbackServer, workers: str
) -> None:
    many.latency_ms = 20
    result = pytester.runpytest("-n", workers)
    result.assert_outcomes(passed=CASES)
    prompts = [r.body["prompt"] for r in many.completion_requests]
    assert len(prompts) == len(set(prompts)) == CASES


def test_items_start_while_the_last_calls_are_in_flight(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.latency_ms = 100
    result = pytester.runpytest("--promptcheck-concurrency=8")
    result.assert_outcomes(passed=CASES)
    result.stdout.fnmatch_lines(
        ["promptcheck calls: 3*/40 done, *; the other * are in flight as the items start"]
    )
    assert len(many.completion_requests) == CASES


def test_a_run_stopped_early_cancels_the_calls_nobody_waits_for(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.latency_ms = 300
    many.set_model(
        "ok-model", lambda request: "bad" if request.user_text.endswith(" word0") else "ok"
    )
    # a subprocess, so that asyncio's complaints at exit about pending tasks would show
    result = pytester.runpytest_subprocess("--promptcheck-concurrency=8", "-x")
    result.assert_outcomes(failed=1, passed=0)
    assert "Task was destroyed" not in result.stderr.str() + result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_max_calls_refuses_under_xdist_too(pytester: pytest.Pytester, many: LoopbackServer) -> None:
    result = pytester.runpytest_subprocess("-n", "2", "--promptcheck-max-calls=39")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # README: a collection error, exit code 1
    result.stdout.fnmatch_lines(
        ["*this run needs 40 live model calls, more than --promptcheck-max-calls=39*"]
    )
    assert "INTERNALERROR" not in result.stdout.str()
    assert many.completion_requests == []


def test_xdist_workers_together_use_the_whole_concurrency(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    cases = "\n".join(f"  - {{id: c{i}, vars: {{x: {i}}}}}" for i in range(200))
    pytester.makefile(
        ".prompt.yaml",
        wide=f"model: openai:ok-model\nprompt: 'Say ok {{{{ x }}}}'\ncases:\n{cases}\n",
    )
    many.latency_ms = 100
    result = pytester.runpytest_subprocess(
        "-n", "2", "--promptcheck-concurrency=8", "wide.prompt.yaml"
    )
    result.assert_outcomes(passed=200)
    # Each worker has 4 places. A worker that claimed every call at once would leave the other
    # only waiting, and the run would go at 4 in flight instead of 8.
    assert many.max_in_flight == 8
    assert len(many.completion_requests) == 200
