"""The example suite against the real embedded model: the verdicts the README promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="needs the [local] extra")

EXAMPLES = Path(__file__).parent.parent / "examples"
pytestmark = pytest.mark.local_model


@pytest.fixture
def examples(pytester: pytest.Pytester) -> Path:
    target = pytester.path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target


def test_example_suite_passes_except_the_deliberate_failures(
    pytester: pytest.Pytester, examples: Path
) -> None:
    # Only what the measured margins guarantee on any CPU (examples/README.md): the verdicts,
    # not the text; the deliberate failures fail on their format whatever the model writes,
    # and the flow's on the count its SQL step's query gives (no candidate within 12 nats of
    # the model's own tokens writes the WHERE clause).
    result = pytester.runpytest("examples")
    result.assert_outcomes(passed=31, failed=3)
    result.stdout.fnmatch_lines(
        [
            "big_orders failed: 2 of 3 checks",
            "  trace   2 model calls",
            "    1. to_sql *",
            "  check   FAIL  json_path $.result equals 3: got 7",
            "spanish failed: output format invalid",
            "  format  FAIL  output *",
            "italian failed: output format invalid",
            "42 samples from 47 model calls: 47 live calls, 0 from cache*",
            "FAILED examples/flows/flow.prompt.yaml::big_orders*",
            "FAILED examples/language.prompt.yaml::spanish*",
            "FAILED examples/language.prompt.yaml::italian*",
        ]
    )
    # against the committed baseline, recorded on another machine maybe: nothing regressed,
    # improved or new; a different llama.cpp build is a named cause, never unexplained drift
    prompts = (
        "capitals",
        "definitions",
        "language",
        "opposites",
        "plurals",
        "sentiment",
        "shop_answers",
    )
    result.stdout.re_match_lines(
        [
            rf"{name} +local:gemma-3-270m +0 +0 +\d+ +\d+ +0 +(-|model changed: \d+)$"
            for name in prompts
        ]
    )

    rerun = pytester.runpytest("examples", "--promptcheck-cache=replay")
    rerun.assert_outcomes(passed=31, failed=3)
    rerun.stdout.fnmatch_lines(["42 samples from 47 model calls: 0 live calls, 47 from cache*"])


@pytest.mark.parametrize(
    ("folder", "verdicts"),
    [
        ("examples", 29),
        # the flow's two steps, each on the inputs the flow gives it: a flow case keeps its
        # verdict when neither step's does
        ("examples/flows/steps", 10),
    ],
)
def test_every_example_verdict_is_far_from_flipping(
    tmp_path: Path, folder: str, verdicts: int
) -> None:
    """The measured margins (benchmarks/example_margins.py) clear their targets: a case added
    or edited so that another CPU's kernels could flip it fails here, on any machine."""
    script = EXAMPLES.parent / "benchmarks" / "example_margins.py"
    folder_path = EXAMPLES.parent / folder
    command = [sys.executable, str(script), "--examples", str(folder_path)]
    command += ["--cache-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{verdicts} of {verdicts} verdicts clear their target" in result.stdout
