"""A cache that fails, two runs on one cache directory, Ctrl-C: no verdict is lost."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time

import pytest

from tests.loopback import LoopbackServer
from tests.loopback_fixtures import TEST_API_KEY

CASES = 40
DISABLED = "promptcheck: cache disabled for this run: "


@pytest.fixture
def many(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("many")
    openai_env.set_model("ok-model", lambda request: "ok")
    return openai_env


def clean(output: str) -> None:
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output
    assert TEST_API_KEY not in output


def unusable_cache_dir(pytester: pytest.Pytester) -> str:
    """A cache path that cannot be created: its parent is a regular file (root ignores chmod)."""
    (pytester.path / "not-a-dir").write_text("")
    return "--promptcheck-cache-dir=not-a-dir/cache"


def test_an_unusable_cache_dir_costs_no_verdict(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    result = pytester.runpytest_subprocess(unusable_cache_dir(pytester))
    result.assert_outcomes(passed=CASES)
    output = result.stdout.str() + result.stderr.str()
    clean(output)
    assert output.count(DISABLED) == 1
    assert len(many.completion_requests) == CASES


def test_replay_with_an_unusable_cache_dir_is_a_clean_miss_per_item(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    result = pytester.runpytest_subprocess(
        unusable_cache_dir(pytester), "--promptcheck-cache=replay"
    )
    result.assert_outcomes(errors=CASES)
    output = result.stdout.str() + result.stderr.str()
    clean(output)
    assert output.count(DISABLED) == 1
    result.stdout.fnmatch_lines(["*no recorded response for openai:ok-model*"])
    assert many.completion_requests == []


def _small_files() -> None:
    """In the child: files may not grow past 128 KiB, and writing past it fails with EFBIG
    instead of killing the process, as on a disk that fills up. (1 MiB was enough while each
    answer was its own commit, 256 KiB while claims were diskcache entries; batched, and with
    the claims in their own compact file, 300 answers stay under those.)"""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 17, 1 << 17))


def test_a_cache_that_fills_up_mid_run_costs_no_verdict(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    cases = "\n".join(f"  - {{id: c{i}, vars: {{x: {i}}}}}" for i in range(300))
    pytester.makefile(
        ".prompt.yaml",
        wide=f"model: openai:ok-model\nprompt: 'Say ok {{{{ x }}}}'\ncases:\n{cases}\n",
    )
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "wide.prompt.yaml"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        preexec_fn=_small_files,
        timeout=120,
        check=False,
    )
    output = child.stdout + child.stderr
    assert child.returncode == 0, output[-3000:]
    assert "300 passed" in output
    clean(output)
    assert output.count(DISABLED) == 1
    assert len(many.completion_requests) == 300


def start_pytest(pytester: pytest.Pytester, *args: str) -> subprocess.Popen[str]:
    """A pytest run in its own process (the way a second terminal or a CI retry starts one).

    Ctrl-C is restored in the child: a test run started in the background of a
    non-interactive shell ignores SIGINT, and a child would inherit that.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_requests(server: LoopbackServer, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(server.completion_requests) < count:
        assert time.monotonic() < deadline, "the run made no calls"
        time.sleep(0.01)


def test_two_runs_started_together_make_each_call_once(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.latency_ms = 200
    runs = [start_pytest(pytester, "--promptcheck-concurrency=8") for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert f"{CASES} passed" in output
        clean(output)
    prompts = [r.body["prompt"] for r in many.completion_requests]
    assert len(prompts) == len(set(prompts)) == CASES


def test_a_rerun_after_kill_9_makes_only_the_missing_calls_at_once(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.latency_ms = 300
    killed = start_pytest(pytester, "--promptcheck-concurrency=4")
    wait_for_requests(many, 6)  # calls in flight hold claims; the ones before are cached
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    time.sleep(0.4)  # let the server finish the answers nobody reads
    before = len(many.completion_requests)
    # the dead run's claims would hold for minutes if they were not taken over at once
    rerun = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stdout
    clean(rerun.stdout + rerun.stderr)
    again = len(many.completion_requests) - before
    assert (
        f"promptcheck: {CASES} model calls: {again} live, {CASES - again} from cache"
        in rerun.stdout
    )
    prompts = [r.body["prompt"] for r in many.completion_requests[before:]]
    assert len(prompts) == len(set(prompts))


def test_ctrl_c_in_the_call_phase_stops_cleanly_and_sends_nothing_after(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    many.latency_ms = 500
    run = start_pytest(pytester, "--promptcheck-concurrency=4")
    wait_for_requests(many, 8)  # the second round of 4 is in flight
    # mid-round: the next round starts 0.5 s after this one, so no request is on its way
    time.sleep(max(0.0, many.completion_requests[-1].started + 0.2 - time.perf_counter()))
    signalled = time.perf_counter()
    run.send_signal(signal.SIGINT)
    output = run.communicate(timeout=30)[0]
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "Task was destroyed" not in output
    assert "Event loop is closed" not in output
    assert "Traceback (most recent call last)" not in output
    assert "KeyboardInterrupt" in output
    assert output.count("promptcheck: interrupted: ") == 1
    assert f"interrupted: 4 of {CASES} calls done, 4 cancelled in flight" in output
    late = [r.started - signalled for r in many.completion_requests if r.started > signalled]
    assert late == [], f"requests sent after Ctrl-C: {late}"


def test_under_xdist_a_failing_cache_is_still_said_once(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    result = pytester.runpytest_subprocess("-n", "2", unusable_cache_dir(pytester))
    result.assert_outcomes(passed=CASES)
    output = result.stdout.str() + result.stderr.str()
    clean(output)
    assert output.count(DISABLED) == 1


def test_answers_written_in_batches_survive_a_ctrl_c(
    pytester: pytest.Pytester, many: LoopbackServer
) -> None:
    """Finished calls are written to the cache in batches (batching.py); a Ctrl-C right after
    a round of answers, before their batch is due, still leaves every one of them cached."""
    many.latency_ms = 400
    run = start_pytest(pytester, "--promptcheck-concurrency=4")
    wait_for_requests(many, 8)  # the first round of 4 has just been answered
    run.send_signal(signal.SIGINT)
    output = run.communicate(timeout=30)[0]
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    many.reset()
    rerun = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--promptcheck-cache=replay")
    outcomes = rerun.parseoutcomes()
    assert outcomes["passed"] >= 4, rerun.stdout.str()  # the answered round, from the cache
    assert outcomes["passed"] + outcomes.get("errors", 0) == CASES
    assert many.completion_requests == []
