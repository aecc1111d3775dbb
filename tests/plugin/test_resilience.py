"""A cache that fails, two runs on one cache directory, Ctrl-C: no verdict is lost."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys

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
    """In the child: files may not grow past 1 MiB, and writing past it fails with EFBIG
    instead of killing the process, as on a disk that fills up."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


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
