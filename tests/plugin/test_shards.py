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


@pytest.mark.parametrize(
    ("count", "xdist"),
    [(1, ()), (2, ()), (3, ()), (2, ("-n", "2"))],
    ids=["1", "2", "3", "2-xdist"],
)
def test_merged_shards_equal_one_run(project: Project, count: int, xdist: tuple[str, ...]) -> None:
    whole = project.run("--promptcheck-drift=fail", "--promptcheck-report=whole.json")
    whole.assert_outcomes(passed=5, failed=2, errors=1)
    shards = project.shards(count, "--promptcheck-drift=fail", *xdist)
    merged = project.merge(*shards, "--report", "merged.json", "--report", "merged.md")

    assert merged.ret == whole.ret == pytest.ExitCode.TESTS_FAILED
    one, together = (
        cases(project.pytester.path / "whole.json"),
        cases(project.pytester.path / "merged.json"),
    )
    assert sorted(together) == sorted(one)
    if not xdist:  # (under xdist a report lists the cases as they finish)
        assert list(together) == list(one)  # in the run's order
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
        [f"promptcheck merge: {count} shard report*, 7 cases: 6 passed, 1 failed, 1 error"]
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


def test_a_shards_own_adjustment_is_not_the_merged_one(project: Project) -> None:
    # beta's drop is the only sampled case of shard 2 of 2: alone, its raw p of 0.018 is
    # significant; counted with alpha's and gamma's cases, as one run counts it, it is not.
    project.run("--promptcheck-report=whole.json")
    shards = project.shards(2)
    own = next(c for c in cases(shards[1]).values() if c["case"] == "drop")["drift"]
    assert (own["effect"], own["family"]) == ("regressed", 1)
    assert own["p_value"] == pytest.approx(0.0183, abs=1e-4)
    one = next(
        c for c in cases(project.pytester.path / "whole.json").values() if c["case"] == "drop"
    )
    assert own != one["drift"]
    project.merge(*shards, "--report", "merged.json")
    merged = next(
        c for c in cases(project.pytester.path / "merged.json").values() if c["case"] == "drop"
    )
    assert merged["drift"] == one["drift"]
    assert "adjustment" not in merged  # merge counts the samples; nothing reads such a section


PASSING = ("-k", "hot or drop or steady or up or fast")
"""Every selected case passes its checks; delta::hot has regressed (its score dropped)."""


def test_the_drift_gate_is_applied_by_merge(project: Project) -> None:
    whole = project.run(*PASSING, "--promptcheck-drift=fail")
    assert whole.ret == pytest.ExitCode.TESTS_FAILED
    for index in (1, 2):
        shard = project.run(
            *PASSING,
            "--promptcheck-drift=fail",
            f"--promptcheck-shard={index}/2",
            f"--promptcheck-report=shard-{index}.json",
        )
        assert shard.ret == pytest.ExitCode.OK  # the shard's checks and errors: none failed
        shard.stdout.fnmatch_lines(
            ["*drift gate: applied by 'python -m pytest_promptcheck merge'*shard */2*"]
        )
    shards = [project.pytester.path / f"shard-{index}.json" for index in (1, 2)]
    merged = project.merge(*shards)
    assert merged.ret == whole.ret
    merged.stdout.fnmatch_lines(
        [
            "  REGRESSED delta::hot [openai:tutor]  no change",
            "drift gate (fail): 1 regressed cases*",
            "exit code 1",
        ]
    )
    assert project.merge(*shards, "--drift", "warn").ret == pytest.ExitCode.OK
    assert project.merge(*shards, "--drift=off").ret == pytest.ExitCode.OK


def test_shards_with_different_drift_modes_need_one_on_the_command_line(project: Project) -> None:
    first = project.run(*PASSING, "--promptcheck-shard=1/2", "--promptcheck-report=s1.json")
    second = project.run(
        *PASSING,
        "--promptcheck-shard=2/2",
        "--promptcheck-report=s2.json",
        "--promptcheck-drift=fail",
    )
    assert first.ret == second.ret == pytest.ExitCode.OK
    refused = project.merge("s1.json", "s2.json")
    assert refused.ret == 2
    refused.stderr.fnmatch_lines(
        [
            "*error: s2.json: --promptcheck-drift=fail, but s1.json: warn; "
            "run every shard alike or give merge --drift"
        ]
    )
    assert project.merge("s1.json", "s2.json", "--drift=fail").ret == pytest.ExitCode.TESTS_FAILED


def test_update_baseline_per_shard_writes_only_its_files(project: Project) -> None:
    root = project.pytester.path
    baselines = {p.relative_to(root).as_posix(): p for p in root.rglob("__promptcheck__/*.json")}
    assert len(baselines) == 6
    for name in ("__promptcheck__/alpha.json", "__promptcheck__/beta.json"):  # shards 1 and 2
        data = json.loads(baselines[name].read_text())
        data["cases"]["gone"] = next(iter(data["cases"].values()))
        baselines[name].write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    before = {name: path.read_bytes() for name, path in baselines.items()}

    project.serve(RUN_PASSES, DRIFTED, refuse=False)
    result = project.pytester.runpytest(
        OFF, "--promptcheck-update-baseline", "--promptcheck-shard=1/2"
    )
    result.stdout.fnmatch_lines(
        [
            "collected 8 items / 4 deselected / 4 selected",
            "promptcheck: shard 1/2: 3 of 6 files, 4 items",
            "promptcheck: 42 model calls: 42 live, 0 from cache",  # alpha 20, gamma 20, zeta 2
            "*removed unused gone*",
        ]
    )
    changed = {name for name, path in baselines.items() if path.read_bytes() != before[name]}
    shard_1 = {
        "__promptcheck__/alpha.json",
        "__promptcheck__/gamma.json",
        "more/__promptcheck__/zeta.json",
    }
    assert "__promptcheck__/alpha.json" in changed
    assert changed <= shard_1  # beta's, delta's and epsilon's files are shard 2's
    assert "gone" in json.loads(baselines["__promptcheck__/beta.json"].read_text())["cases"]

    project.serve(RUN_PASSES, DRIFTED, refuse=False)
    project.pytester.runpytest(OFF, "--promptcheck-update-baseline", "--promptcheck-shard=2/2")
    assert "gone" not in json.loads(baselines["__promptcheck__/beta.json"].read_text())["cases"]


def test_a_shard_takes_its_part_of_a_providers_concurrency(project: Project) -> None:
    def most_in_flight(*args: str) -> int:
        project.serve(RUN_PASSES, DRIFTED, refuse=False)
        project.server.set_model("coin", counted(RUN_PASSES), latency_ms=30)
        project.pytester.runpytest(OFF, "-k", "steady_a", "--promptcheck-concurrency=4", *args)
        return project.server.max_in_flight

    assert most_in_flight() > 2  # so the bound below is the shard's doing
    assert most_in_flight("--promptcheck-shard=1/2") == 2  # alpha is shard 1's
    assert most_in_flight("--promptcheck-shard=1/5", "-k", "steady_a or zeta") <= 1


def test_an_empty_shard_passes_and_still_merges(project: Project) -> None:
    # with -k zeta, only shard 2 of 3 has an item
    results = [
        project.run("-k", "zeta", f"--promptcheck-shard={k}/3", f"--promptcheck-report=s{k}.json")
        for k in (1, 2, 3)
    ]
    assert [r.ret for r in results] == [0, 0, 0]
    results[0].stdout.fnmatch_lines(["promptcheck: shard 1/3: 0 of 1 files, 0 items"])
    merged = project.merge("s1.json", "s2.json", "s3.json")
    assert merged.ret == pytest.ExitCode.OK
    merged.stdout.fnmatch_lines(["*3 shard reports, 2 cases: 2 passed, 0 failed, 0 errors*"])


@pytest.mark.parametrize("value", ["0/2", "3/2", "x", "1/0", "1/-2", ""])
def test_a_bad_shard_is_one_usage_error(pytester: pytest.Pytester, value: str) -> None:
    result = pytester.runpytest(f"--promptcheck-shard={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*--promptcheck-shard: '{value}' is not a shard; use K/N with 1 <= K <= N*"]
    )
    assert "Traceback" not in result.stderr.str()


def test_the_shard_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npromptcheck_shard = 3/2\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini promptcheck_shard: '3/2' is not a shard*"])


def test_a_case_in_two_reports_is_refused(project: Project) -> None:
    first = project.shards(2)[0]
    twin = json.loads(first.read_text())
    twin["run"]["shard"] = "2/2"
    (project.pytester.path / "twin.json").write_text(json.dumps(twin))
    result = project.merge(first, "twin.json")
    assert result.ret == 2
    error = result.stderr.str()
    assert "error: twin.json: case alpha.prompt.yaml::steady_a [openai:coin] is also in " in error
    assert error.endswith("shard-1.json; each case belongs to one shard")


HUGE = 10**30
HUGE_COUNTS = [
    # huge counts: merge must not spend them on an exact test (it hung)
    (("drift", "baseline_n"), HUGE),
    (("drift", "n"), 10**6),
    (("result", "n"), HUGE),
    (("baseline", "n"), 10**6),
    (("baseline", "passed"), -1),
    (("record", "tally", 1), HUGE),
    (("record", "baseline_tally", 0), HUGE),
]
WRONG_TYPES = [
    # well-formed JSON of the wrong type (each crashed merge with a traceback)
    (("prompt",), None),
    (("model",), -1),
    (("case",), []),
    (("record", "baseline"), True),
    (("record", "tally", 0), None),
    (("record", "tally", 1), "x"),
    (("record", "baseline_tally", 0), "x"),
    (("record", "agreements"), "x"),
    (("drift", "passed"), -1),
    (("drift", "baseline_passed"), "x"),
    (("file",), 5),
    (("baseline",), "x"),
    (("record", "unused"), [1]),
    (("record", "agreements"), [{"judge": "j"}]),
]


def test_a_new_case_with_a_baseline_tally_is_one_error(project: Project) -> None:
    """A case without a baseline entry has no baseline tally to read: one planted there
    (wrongly typed, or only out of place) is refused, not carried into the report."""
    (shard,) = project.shards(1)
    document = json.loads(shard.read_text())
    case = document["cases"][0]
    case["baseline"], case["drift"] = None, None
    case["record"]["baseline_tally"] = [1, "x", "passed", 1.0]
    shard.write_text(json.dumps(document))

    merged = project.merge(shard, "--report", project.pytester.path / "out.md")

    assert merged.ret == 2, merged.stdout.str()
    assert len(merged.errlines) == 1, merged.stderr.str()
    assert merged.errlines[0].startswith(
        f"python -m pytest_promptcheck merge: error: {shard}: cases[0] is malformed (its "
        "baseline tally does not match its baseline's samples)"
    )


@pytest.mark.parametrize(("path", "value"), HUGE_COUNTS + WRONG_TYPES, ids=lambda v: str(v)[:20])
def test_a_tampered_shard_report_is_one_error(
    project: Project, path: tuple[str | int, ...], value: Any
) -> None:
    (shard,) = project.shards(1)
    document = json.loads(shard.read_text())
    held: Any = next(c for c in document["cases"] if (c["drift"] or {}).get("family"))
    for key in path[:-1]:
        held = held[key]
    held[path[-1]] = value
    shard.write_text(json.dumps(document))

    merged = project.pytester.run(
        sys.executable, "-m", "pytest_promptcheck", "merge", shard, timeout=60
    )

    assert merged.ret == 2, merged.stdout.str()
    assert merged.errlines[0].startswith(f"python -m pytest_promptcheck merge: error: {shard}: ")
    assert len(merged.errlines) == 1, merged.stderr.str()
