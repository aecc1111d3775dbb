"""Report writers by suffix, and the .md and .json reports, from case records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import classify
from pytest_promptcheck.drift_view import DriftView
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.policy import DriftPolicy
from pytest_promptcheck.reports.base import ReportInput
from pytest_promptcheck.reports.registry import (
    FORMATS,
    known_suffixes,
    report_formats_help,
    write_report,
)
from pytest_promptcheck.settings import parse_report_path
from tests.entries import make_entry, make_record

POLICY = DriftPolicy()


def entry(output: str, passed: int = 1, model: str = "openai:a") -> BaselineEntry:
    return make_entry([output], passed, model=model, request="r", checks="c", version="1")


def record(case: str, baseline: BaselineEntry | None, now: BaselineEntry) -> CaseRecord:
    drift = classify(baseline, now, POLICY)
    return make_record(case, now, baseline, drift, unused=("gone",), file_items=3)


RECORDS = [
    record("hot", entry("cold"), entry("warm", 0, model="openai:b")),
    record("up", entry("down"), entry("Down.")),
    record("new", None, entry("x")),
]
ERRORS = [{"node": "opposites.prompt.yaml::big", "error": "openai: HTTP 401 after 1 try"}]


def test_markdown_names_each_moved_case_with_its_cause(tmp_path: Path) -> None:
    path = tmp_path / "out" / "drift.md"
    write_report(path, ReportInput(DriftView(RECORDS, POLICY), ERRORS))
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
    write_report(path, ReportInput(DriftView(RECORDS, POLICY), ERRORS))
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


def test_the_suffix_picks_the_writer_case_insensitively(tmp_path: Path) -> None:
    write_report(tmp_path / "r.JSON", ReportInput(DriftView(RECORDS, POLICY), ERRORS))
    write_report(tmp_path / "r.Md", ReportInput(DriftView(RECORDS, POLICY), ERRORS))
    assert json.loads((tmp_path / "r.JSON").read_text())["format"] == 1
    assert (tmp_path / "r.Md").read_text().startswith("## promptcheck\n")


def test_the_option_accepts_every_registered_suffix_and_names_them_when_it_refuses() -> None:
    for found in FORMATS:
        assert parse_report_path(f"out/r{found.suffix}", "--promptcheck-report").suffix
    with pytest.raises(UsageError) as caught:
        parse_report_path("out.txt", "--promptcheck-report")
    assert str(caught.value).startswith(
        f"--promptcheck-report: 'out.txt' must end in {known_suffixes()}, the report formats"
    )


def test_the_help_text_lists_the_registry() -> None:
    text = report_formats_help()
    assert all(f"{f.suffix} ({f.purpose})" in text for f in FORMATS)
