"""The CI recipe (examples/ci/promptcheck.yml) passes actionlint with no finding and uses the
option names of DESIGN §11."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).parents[1] / "examples" / "ci" / "promptcheck.yml"


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    """The binary the test extra installs (beside this interpreter), else one on PATH."""
    beside = Path(sys.executable).parent / "actionlint"
    binary = str(beside) if beside.is_file() else shutil.which("actionlint")
    if binary is None:
        pytest.fail("actionlint is not installed: pip install -e '.[test]'")
    return subprocess.run(
        [binary, "-no-color", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_actionlint_finds_nothing() -> None:
    done = actionlint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("matrix.shard }}/", "matrix.shards }}/"))
    done = actionlint(broken)
    assert done.returncode == 1
    assert "shards" in done.stdout


@pytest.mark.parametrize(
    "text",
    [
        "--promptcheck-shard=${{ matrix.shard }}/${{ env.SHARDS }}",
        "--promptcheck-report shard-${{ matrix.shard }}.json",
        "python -m pytest_promptcheck merge reports/shard-*.json",
        "--report summary.md --report report.html",
        '>> "$GITHUB_STEP_SUMMARY"',
        "secrets.OPENAI_API_KEY == '' && 'replay' || 'use'",
        "github.event_name == 'pull_request' && 'fail' || 'warn'",
        "python -m pytest_promptcheck cache import promptcheck-cache",
        "python -m pytest_promptcheck cache export shard-cache",
    ],
)
def test_the_recipe_uses_the_documented_commands(text: str) -> None:
    assert text in WORKFLOW.read_text()


def test_every_option_the_recipe_passes_exists() -> None:
    """The recipe's flags against the plugin's and the subcommands' own --help: a renamed or
    removed option fails here, not in a user's CI."""
    text = WORKFLOW.read_text()
    pytest_help = _help("-m", "pytest", "--help")  # the plugin loads by its entry point
    for flag in set(re.findall(r"--promptcheck-[a-z-]+", text)):
        assert flag in pytest_help, flag
    merge_help = _help("-m", "pytest_promptcheck", "merge", "--help")
    for flag in ("--drift", "--report"):
        assert "merge reports/shard-*.json" in text and flag in merge_help, flag
    for command in set(re.findall(r"pytest_promptcheck cache (\w+)", text)):
        assert command in _help("-m", "pytest_promptcheck", "cache", "--help"), command


def _help(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=False
    )
    return done.stdout + done.stderr
