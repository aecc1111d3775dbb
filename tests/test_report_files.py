"""The .md and .json reports, from case records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import classify
from pytest_promptcheck.drift_summary import DriftView
from pytest_promptcheck.policy import DriftPolicy
from pytest_promptcheck.report_files import write_report

POLICY = DriftPolicy()


def entry(output: str, passed: int = 1, n: int = 1, model: str = "openai:a") -> dict[str, Any]:
    return {
        "prompt": {"fingerprint": "f", "version": "1", "request": "r"},
        "model": {"requested": model, "reported": None, "system_fingerprint": None},
        "params": {},
        "checks": "c",
        "samples": [{"output": output}] * n,
        "passed": passed,
        "n": n,
        "verdict": "passed" if passed == n else "failed",
        "score": passed / n,
    }


def record(case: str, baseline: dict[str, Any] | None, now: dict[str, Any]) -> CaseRecord:
    drift = classify(baseline, now, POLICY)
    return CaseRecord(
        prompt="opposites",
        file="opposites.prompt.yaml",
        baseline="__promptcheck__/opposites.json",
        case=case,
        model=now["model"]["requested"],
        reference=True,
        file_items=3,
        unused=("gone",),
        entry=now,
        baseline_entry=baseline,
        drift=drift.to_json(),
    )


RECORDS = [
    record("hot", entry("cold"), entry("warm", 0, model="openai:b")),
    record("up", entry("down"), entry("Down.")),
    record("new", None, entry("x")),
]
ERRORS = [{"node": "opposites.prompt.yaml::big", "error": "openai: HTTP 401 after 1 try"}]


def test_markdown_names_each_moved_case_with_its_cause(tmp_path: Path) -> None:
    path = tmp_path / "out" / "drift.md"
    write_report(path, DriftView(RECORDS, POLICY), ERRORS)
    text = path.read_text()
    assert text.startswith("## promptcheck\n")
    assert "**3 cases**: 2 passed, 1 failed, 1 error." in text
    assert "| `opposites::hot` | openai:b | model changed (openai:a → openai:b) |" in text
    assert "### Changed (same verdict) (1)" in text
    assert "| `opposites::up` | openai:a | no change | output moved" in text
    assert "Unused baseline entries in `__promptcheck__/opposites.json`: gone" in text
    assert "- `opposites.prompt.yaml::big`: openai: HTTP 401 after 1 try" in text


def test_json_holds_every_case_with_its_statistics(tmp_path: Path) -> None:
    path = tmp_path / "drift.json"
    write_report(path, DriftView(RECORDS, POLICY), ERRORS)
    data = json.loads(path.read_text())
    assert data["format"] == 1
    assert data["totals"] == {
        "cases": 3,
        "passed": 2,
        "failed": 1,
        "errors": 1,
        "regressed": 1,
        "improved": 0,
        "changed": 1,
        "same": 0,
        "new": 1,
    }
    hot = next(case for case in data["cases"] if case["case"] == "hot")
    assert hot["drift"]["effect"] == "regressed"
    assert hot["baseline"]["samples"][0]["output"] == "cold"
    assert hot["result"]["samples"][0]["output"] == "warm"
    # 0 passes of 1 sample: the Wilson upper bound is z^2 / (1 + z^2), z = 1.96
    assert hot["wilson_95"] == [0.0, pytest.approx(0.79345, abs=1e-5)]
    assert hot["pass_at_k"] == {"1": 0.0}
    assert data["unused"] == {"__promptcheck__/opposites.json": ["gone"]}
