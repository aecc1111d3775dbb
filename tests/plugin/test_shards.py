"""Shards and merge (fixtures/shards): N shards merged give the one run's result."""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import LoopbackServer, RecordedRequest, Responder, rules, status

FILES = {
    "alpha.prompt.yaml",
    "beta.prompt.yaml",
    "gamma.prompt.yaml",
    "delta.prompt.yaml",
    "epsilon.prompt.yaml",
    "more/zeta.prompt.yaml",
}
BASELINE_PASSES = {"amber": 10, "bronze": 18, "cobalt": 10}
RUN_PASSES = {"amber": 10, "bronze": 12, "cobalt": 11}
OPPOSITES = {"hot": "cold", "big": "small", "up": "down", "fast": "slow"}
DRIFTED = {**OPPOSITES, "hot": "cool", "big": "large"}
OFF = "--promptcheck-cache=off"


def counted(passes_of_20: dict[str, int]) -> Responder:
    """Answers "yes" to exactly ``passes_of_20[side]`` of every 20 requests for a side."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(request: RecordedRequest) -> str:
        side = next(s for s in passes_of_20 if s in request.user_text)
        with lock:
            index = seen[side] % 20
            seen[side] += 1
        return "yes" if index < passes_of_20[side] else "no"

    return respond


class Project:
    def __init__(self, pytester: pytest.Pytester, server: LoopbackServer) -> None:
        self.pytester = pytester
        self.server = server

    def serve(self, passes: dict[str, int], opposites: dict[str, str], refuse: bool) -> None:
        self.server.reset()
        self.server.set_model("coin", counted(passes))
        self.server.set_model("tutor", rules(opposites))
        self.server.set_model("broken", rules({"ok": "ok"}))
        if refuse:
            self.server.inject(status(400), model="broken")

    def record(self, *args: str) -> pytest.RunResult:
        self.serve(BASELINE_PASSES, OPPOSITES, refuse=False)
        return self.pytester.runpytest(OFF, "--promptcheck-update-baseline", *args)

    def run(self, *args: str) -> pytest.RunResult:
        """A compared run: the pass rates and answers have moved, epsilon's call is refused."""
        self.serve(RUN_PASSES, DRIFTED, refuse=True)
        return self.pytester.runpytest(OFF, *args)

    def shards(self, count: int, *args: str) -> list[Path]:
        paths = []
        for index in range(1, count + 1):
            path = self.pytester.path / f"shard-{index}.json"
            result = self.run(
                f"--promptcheck-shard={index}/{count}", f"--promptcheck-report={path}", *args
            )
            assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), result.stdout
            paths.append(path)
        return paths

    def merge(self, *args: str | Path) -> pytest.RunResult:
        return self.pytester.run(sys.executable, "-m", "pytest_promptcheck", "merge", *args)


@pytest.fixture
def project(pytester: pytest.Pytester, openai_env: LoopbackServer) -> Project:
    pytester.copy_example("shards")
    made = Project(pytester, openai_env)
    made.record().assert_outcomes(passed=8)
    return made


def cases(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    document = json.loads(path.read_text())
    return {(c["file"], c["case"], c["model"]): c for c in document["cases"]}


def judged(case: dict[str, Any]) -> dict[str, Any]:
    """What must equal between merged shards and one run: verdict, drift, causes, p-values."""
    return {"verdict": case["verdict"], "passed": case["passed"], "drift": case["drift"]}


@pytest.mark.parametrize("count", [1, 2, 3])
def test_merged_shards_equal_one_run(project: Project, count: int) -> None:
    whole = project.run("--promptcheck-drift=fail", "--promptcheck-report=whole.json")
    whole.assert_outcomes(passed=5, failed=2, errors=1)
    shards = project.shards(count, "--promptcheck-drift=fail")
    merged = project.merge(*shards, "--report", "merged.json", "--report", "merged.md")

    assert merged.ret == whole.ret == pytest.ExitCode.TESTS_FAILED
    one, together = (
        cases(project.pytester.path / "whole.json"),
        cases(project.pytester.path / "merged.json"),
    )
    assert list(together) == list(one)  # the same cases, in the run's order
    assert {k: judged(c) for k, c in together.items()} == {k: judged(c) for k, c in one.items()}
    drop = together[next(k for k in together if k[1] == "drop")]["drift"]
    assert (drop["effect"], drop["family"]) == ("changed", 3)
    assert 0.05 < drop["p_value"] < 0.06
    document = json.loads((project.pytester.path / "merged.json").read_text())
    assert [e["node"] for e in document["errors"]] == ["epsilon.prompt.yaml::refused"]
    assert (
        document["totals"]
        == json.loads((project.pytester.path / "whole.json").read_text())["totals"]
    )
    merged.stdout.fnmatch_lines(
        [f"promptcheck merge: {count} shard report*, 7 cases: 6 passed, 1 failed, 1 errors*"]
    )
    assert "| `delta::hot` | openai:tutor |" in (project.pytester.path / "merged.md").read_text()


def test_each_file_runs_in_exactly_one_shard(project: Project) -> None:
    for count in (2, 3):
        owners: dict[str, int] = {}
        for index, path in enumerate(project.shards(count), start=1):
            files = {Path(c[0]).relative_to(project.pytester.path).as_posix() for c in cases(path)}
            errors = {e["node"].split("::")[0] for e in json.loads(path.read_text())["errors"]}
            for file in files | errors:
                assert owners.setdefault(file, index) == index
        assert set(owners) == FILES
