"""A cache exported on one machine and imported on a fresh checkout answers every call that was
recorded (DESIGN §11): the rerun makes no live request, in ``use`` and in ``replay`` mode."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer
from tests.loopback_fixtures import TEST_API_KEY
from tests.plugin.support import SUPPORT_ITEMS, serve_support_bot
from tests.plugin.test_flows import flow_bot


def cache_command(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "pytest_promptcheck", "cache", *args)


def fresh_checkout(pytester: pytest.Pytester, example: str) -> None:
    """The project as a new clone has it: its files, no cache."""
    for path in pytester.path.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    pytester.copy_example(example)


def moved_cache(pytester: pytest.Pytester, example: str, tmp_path: Path) -> pytest.RunResult:
    exported = cache_command(pytester, "export", str(tmp_path / "export"))
    assert exported.ret == 0, exported.stderr.str()
    files = list((tmp_path / "export").rglob("*.json"))
    assert files
    assert not any(TEST_API_KEY.encode() in path.read_bytes() for path in files)
    fresh_checkout(pytester, example)
    imported = cache_command(pytester, "import", str(tmp_path / "export"))
    assert imported.ret == 0, imported.stderr.str()
    assert TEST_API_KEY not in exported.stdout.str() + imported.stdout.str()
    return imported


def test_imported_completions_answer_a_fresh_checkout(
    pytester: pytest.Pytester, openai_env: LoopbackServer, tmp_path: Path
) -> None:
    pytester.copy_example("support")
    serve_support_bot(openai_env)
    pytester.runpytest().assert_outcomes(passed=SUPPORT_ITEMS)
    assert len(openai_env.completion_requests) == SUPPORT_ITEMS
    imported = moved_cache(pytester, "support", tmp_path)
    imported.stdout.fnmatch_lines([f"*: {SUPPORT_ITEMS} added, 0 same, 0 conflicting"])
    openai_env.reset()
    serve_support_bot(openai_env)
    pytester.runpytest().assert_outcomes(passed=SUPPORT_ITEMS)
    pytester.runpytest("--promptcheck-cache=replay").assert_outcomes(passed=SUPPORT_ITEMS)
    assert openai_env.requests == []


def test_imported_flow_records_answer_a_fresh_checkout(
    pytester: pytest.Pytester, openai_env: LoopbackServer, tmp_path: Path
) -> None:
    pytester.copy_example("flows")
    openai_env.set_model("flow-bot", flow_bot)
    first = pytester.runpytest("answer.prompt.yaml")
    first.assert_outcomes(passed=2)
    moved_cache(pytester, "flows", tmp_path)
    openai_env.reset()
    again = pytester.runpytest("answer.prompt.yaml", "--promptcheck-cache=replay")
    again.assert_outcomes(passed=2)
    # the flow records came along: the plan knows the calls before the flows run
    again.stdout.fnmatch_lines(["*promptcheck: 4 model calls*"])
    assert openai_env.requests == []


def test_imported_sdk_responses_answer_a_fresh_checkout(
    pytester: pytest.Pytester, openai_env: LoopbackServer, tmp_path: Path
) -> None:
    pytester.copy_example("flows_sdk")
    openai_env.set_model("sdk-bot", lambda request: request.user_text.upper())
    pytester.runpytest().assert_outcomes(passed=3, failed=1)
    moved_cache(pytester, "flows_sdk", tmp_path)
    openai_env.reset()
    pytester.runpytest().assert_outcomes(passed=3, failed=1)
    pytester.runpytest("--promptcheck-cache=replay").assert_outcomes(passed=3, failed=1)
    assert openai_env.requests == []


def test_the_commands_use_the_cache_folder_the_ini_file_names(
    pytester: pytest.Pytester, openai_env: LoopbackServer, tmp_path: Path
) -> None:
    pytester.copy_example("support")
    pytester.makeini("[pytest]\npromptcheck_cache_dir = ci/cache\n")
    serve_support_bot(openai_env)
    pytester.runpytest().assert_outcomes(passed=SUPPORT_ITEMS)
    assert (pytester.path / "ci/cache/responses").is_dir()
    exported = pytester.run(
        sys.executable, "-m", "pytest_promptcheck", "cache", "export", str(tmp_path / "out")
    )
    assert exported.ret == 0, exported.stderr.str()
    exported.stdout.fnmatch_lines([f"exported {SUPPORT_ITEMS} entries from *ci/cache to *"])
