"""The end of the run: baselines recorded file by file."""

from __future__ import annotations

from pathlib import Path

from pytest_promptcheck.baseline import BaselineUpdate, load_baseline
from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.run_end import update_baselines
from tests.entries import make_record
from tests.test_baseline import entry


def record(baseline: Path, case: str) -> CaseRecord:
    return make_record(case, entry(), prompt=baseline.stem, baseline_file=str(baseline))


def test_a_file_that_cannot_be_written_is_reported_and_the_others_still_are(
    tmp_path: Path,
) -> None:
    (tmp_path / "blocked").write_text("a file where the baseline folder should be")
    bad = tmp_path / "blocked" / "a.json"
    good = tmp_path / "__promptcheck__" / "b.json"
    results = update_baselines([record(bad, "hot"), record(good, "hot")])
    failed = [r for r in results if isinstance(r, str)]
    written = [r for r in results if isinstance(r, BaselineUpdate)]
    assert len(failed) == 1 and failed[0].startswith(f"baseline NOT written: {bad}")
    assert [w.path for w in written] == [good] and written[0].changed
    assert list(load_baseline(good).entries) == ["hot"]
