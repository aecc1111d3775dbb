"""Baseline files: reading, merging, atomic and byte-stable writing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_promptcheck.baseline import FORMAT, baseline_text, load_baseline, update_baseline
from pytest_promptcheck.entry import BaselineEntry, EntryError
from pytest_promptcheck.errors import SpecError
from tests.entries import make_entry

EXAMPLES = Path(__file__).parent.parent / "examples" / "__promptcheck__"

MONDAY = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 17, 9, 30, tzinfo=UTC)


def entry(output: str = "cold", passed: int = 1) -> BaselineEntry:
    return make_entry([output], passed, model="openai:tutor", request="r", checks="c")


def test_missing_file_is_an_empty_baseline(tmp_path: Path) -> None:
    assert load_baseline(tmp_path / "nope.json").entries == {}


def test_update_writes_sorted_indented_versioned_json(tmp_path: Path) -> None:
    path = tmp_path / "__promptcheck__" / "opposites.json"
    update = update_baseline(path, "opposites", {"up": entry("down"), "hot": entry()}, now=MONDAY)
    assert update.changed and update.written == 2
    text = path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert data["format"] == FORMAT and data["prompt"] == "opposites"
    assert list(data["cases"]) == ["hot", "up"]
    assert data["cases"]["hot"]["recorded_at"] == "2026-11-16T09:30:00Z"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_unchanged_entries_keep_their_time_so_the_file_does_not_change(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    update_baseline(path, "p", {"hot": entry(), "up": entry("down")}, now=MONDAY)
    before = path.read_text()
    again = update_baseline(path, "p", {"hot": entry(), "up": entry("down")}, now=TUESDAY)
    assert not again.changed and path.read_text() == before
    update_baseline(path, "p", {"up": entry("DOWN", passed=0)}, now=TUESDAY)
    cases = json.loads(path.read_text())["cases"]
    assert cases["hot"]["recorded_at"] == "2026-11-16T09:30:00Z"
    assert cases["up"]["recorded_at"] == "2026-11-17T09:30:00Z"


def test_merge_keeps_other_entries_and_removes_only_the_listed_unused(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    update_baseline(path, "p", {"hot": entry(), "up": entry(), "gone": entry()}, now=MONDAY)
    update = update_baseline(path, "p", {"hot": entry("warm", 0)}, remove_unlisted=["gone", "x"])
    assert update.removed == ("gone",)
    assert sorted(load_baseline(path).entries) == ["hot", "up"]
    assert load_baseline(path).unused(["hot"]) == ["up"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": 1, "cases": {', "not valid JSON"),
        ('{"format": 1}', "no 'cases' mapping"),
        ('{"format": 99, "cases": {}}', "baseline format 99 is not supported"),
        ('{"format": 1, "cases": {"hot": {"n": 1}}}', "baseline entry 'hot' is incomplete"),
        ('{"format": 1, "cases": {"hot": []}}', "baseline entry 'hot' is incomplete"),
    ],
)
def test_a_broken_file_names_itself_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_baseline(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert "--promptcheck-update-baseline" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("n", "3", "'n' must be an integer"),
        ("verdict", "maybe", "'verdict' must be 'passed' or 'failed'"),
        ("model", {"requested": 1}, "'model.requested' must be a string"),
        ("samples", [{"output": 7}], "'samples[0].output' must be a string"),
    ],
)
def test_a_malformed_entry_names_its_case_and_field(
    tmp_path: Path, field: str, value: object, named: str
) -> None:
    path = tmp_path / "b.json"
    update_baseline(path, "p", {"hot": entry()}, now=MONDAY)
    data = json.loads(path.read_text())
    data["cases"]["hot"][field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError) as caught:
        load_baseline(path)
    message = str(caught.value)
    assert (
        f"baseline entry 'hot' is incomplete or malformed: {named}" in message
        and str(path) in message
    )


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("score", float("nan"), "'samples[0].score' must be a finite number"),
        ("latency_ms", float("inf"), "'samples[0].latency_ms' must be a finite number"),
        ("cost_usd", float("-inf"), "'samples[0].cost_usd' must be a finite number or null"),
    ],
)
def test_a_number_that_is_nan_or_infinite_is_malformed(
    tmp_path: Path, key: str, value: float, named: str
) -> None:
    """Python's json reads NaN and Infinity, which no report could write back as JSON."""
    path = tmp_path / "b.json"
    update_baseline(path, "p", {"hot": entry()}, now=MONDAY)
    data = json.loads(path.read_text())
    data["cases"]["hot"]["samples"][0][key] = value
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError) as caught:
        load_baseline(path)
    assert f"baseline entry 'hot' is incomplete or malformed: {named}" in str(caught.value)


@pytest.mark.parametrize("committed", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_a_committed_baseline_reads_back_to_the_same_bytes(committed: Path) -> None:
    """The typed entry holds every field the file holds: read, then write, gives the same bytes."""
    text = committed.read_text("utf-8")
    entries = load_baseline(committed).entries
    assert entries and baseline_text(json.loads(text)["prompt"], entries) == text


def test_rewriting_a_committed_baseline_changes_no_byte(tmp_path: Path) -> None:
    committed = EXAMPLES / "opposites.json"
    path = tmp_path / "opposites.json"
    path.write_bytes(committed.read_bytes())
    entries = load_baseline(path).entries
    update = update_baseline(path, "opposites", entries, now=TUESDAY)
    assert not update.changed and path.read_bytes() == committed.read_bytes()


@pytest.mark.parametrize(
    ("field", "value"), [("n", 10**30), ("n", 1), ("passed", -1), ("passed", 4)]
)
def test_an_entrys_counts_are_its_samples(field: str, value: int) -> None:
    """The counts drive the exact p-values: a huge one would hang the run or a merge."""
    data = make_entry(["a", "b", "c"], passed=2).to_json()
    with pytest.raises(EntryError, match=f"'{field}' must be"):
        BaselineEntry.from_json({**data, field: value})
