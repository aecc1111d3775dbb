"""``python -m pytest_promptcheck merge``: bad input is one clear error naming the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.merge import main


def report(shard: str | None = "1/1", **drift: Any) -> dict[str, Any]:
    """An empty shard's report (no case): the merge payload alone."""
    return {
        "format": 1,
        "drift": {"mode": "warn", "alpha": 0.05, "tolerance": 0.1, **drift},
        "errors": [],
        "cases": [],
        "run": {
            "rootdir": "/project",
            "shard": shard,
            "exit_status": 5,
            "update_baseline": False,
            "detect": None,
        },
    }


DRIFT = {"effect": "same", "cause_text": "", "unexplained": False}


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def refused(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    assert main([str(a) for a in args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_reports_of_empty_shards_merge_to_nothing_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = [write(tmp_path / f"s{k}.json", report(f"{k}/2")) for k in (1, 2)]
    assert main([str(s) for s in shards]) == 5  # as pytest: no tests ran
    assert "2 shard reports, 0 cases" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a JSON report"),
        ("[" * 100_000, "not a JSON report"),
        (
            json.dumps({**report(), "format": 7}),
            "report format 7, this pytest-promptcheck merges format 1",
        ),
        (json.dumps([1, 2]), "report format None"),
        (
            json.dumps({k: v for k, v in report().items() if k != "run"}),
            "no 'run' section to merge",
        ),
        (
            json.dumps({**report(), "drift": {"mode": "warn"}}),
            "malformed report (missing field 'tolerance')",
        ),
        (
            json.dumps({**report(), "cases": [{"prompt": "p"}]}),
            "cases[0] is malformed (missing field 'result')",
        ),
        (json.dumps(report("4/3")), "run.shard: '4/3' is not a shard"),
        (
            json.dumps({**report(), "cases": [{"drift": {"family": "f", "effect": "same"}}]}),
            "cases[0] is malformed (missing field 'cause_text')",
        ),
        (
            json.dumps({**report(), "cases": [{"drift": {**DRIFT, "family": "f"}}]}),
            "cases[0] is malformed (missing field 'baseline_passed')",
        ),
        (
            json.dumps({**report(), "cases": [{"drift": {"x": 1}}]}),
            "cases[0] is malformed (missing field 'effect')",
        ),
        (
            json.dumps({**report(), "cases": [{"record": {}, "result": None, "drift": None}]}),
            "cases[0] is malformed ('the entry' must be an object)",
        ),
    ],
)
def test_a_bad_report_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    bad = write(tmp_path / "bad.json", content)
    error = refused(capsys, bad)
    assert f"{bad}: " in error
    assert message in error


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    error = refused(capsys, tmp_path / "shard-*.json")
    assert f"{tmp_path / 'shard-*.json'}: cannot be read" in error


def test_every_shard_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one, two = (write(tmp_path / f"s{k}.json", report(f"{k}/3")) for k in (1, 2))
    assert "shard 3/3 missing" in refused(capsys, one, two)
    again = write(tmp_path / "again.json", report("1/3"))
    assert f"{again}: shard 1/3 again (also {one})" in refused(capsys, one, again)
    other = write(tmp_path / "other.json", report("1/2"))
    assert "the reports come from different splits" in refused(capsys, one, other)


def test_the_shards_must_share_alpha_and_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = write(tmp_path / "s1.json", report("1/2"))
    two = write(tmp_path / "s2.json", report("2/2", alpha=0.01))
    assert f"{two}: alpha 0.01, tolerance 0.1, but {one}: 0.05, 0.1" in refused(
        capsys, one, two, "--drift=fail"
    )


def test_a_gate_needs_shards_that_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off = write(tmp_path / "s1.json", report(mode="off"))
    assert "ran with --promptcheck-drift=off" in refused(capsys, off, "--drift", "fail")


def test_bad_usage_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = write(tmp_path / "s1.json", report())
    wrong_suffix = refused(capsys, one, "--report", "out.txt")
    assert "'out.txt' must end in .json, .md or .html" in wrong_suffix
    assert "unknown drift mode 'loud'" in refused(capsys, one, "--drift", "loud")
    assert "the following arguments are required" in refused(capsys)
    assert main(["--help"]) == 0
    assert "--drift MODE" in capsys.readouterr().out


def test_the_command_is_reached_through_python_dash_m(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest_promptcheck", "--help"], capture_output=True, text=True
    )
    assert listed.returncode == 0
    assert "  merge    one run's result from its shards." in listed.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "pytest_promptcheck", "split"], capture_output=True, text=True
    )
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "python -m pytest_promptcheck: error: unknown command 'split'; use one of cache, merge"
    )


def test_a_huge_shard_count_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a shard report is input: "1/10**15" must not list every missing shard (it hung)
    one = write(tmp_path / "s1.json", report("1/1000000000000000"))
    assert "shard 2/1000000000000000, 3/1000000000000000" in refused(capsys, one)
