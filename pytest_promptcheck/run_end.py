"""The end of a run, on the controller: record baselines and write report files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pytest_promptcheck.baseline import BaselineUpdate, update_baseline
from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift_summary import drift_summary_lines
from pytest_promptcheck.drift_view import DriftView
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.policy import DriftMode
from pytest_promptcheck.report import display_path
from pytest_promptcheck.reports.base import ReportInput, RunFacts
from pytest_promptcheck.reports.registry import write_report
from pytest_promptcheck.settings import Settings
from pytest_promptcheck.summary import RunSummary


def finish_run(settings: Settings, summary: RunSummary, run: RunFacts | None = None) -> None:
    view = DriftView(summary.records, settings.drift, settings.detect)
    summary.drift_lines = drift_summary_lines(view)
    if settings.shard is not None and settings.drift.mode is DriftMode.FAIL:
        summary.drift_lines.append(
            f"drift gate: applied by 'python -m pytest_promptcheck merge' over every shard's "
            f".json report (this run is shard {settings.shard})"
        )
    if settings.update_baseline:
        summary.end_lines += [_describe(update) for update in update_baselines(summary.records)]
        if summary.errors:
            summary.end_lines.append(
                f"baseline: {len(summary.errors)} cases errored and were not recorded; "
                "their old entries are kept"
            )
    for path in settings.reports:
        try:
            write_report(path, ReportInput(view, summary.errors, run or RunFacts()))
        except (OSError, ValueError) as exc:
            summary.end_lines.append(f"report {path} not written: {exc}")
        else:
            summary.end_lines.append(f"report written: {display_path(path)}")


def update_baselines(records: list[CaseRecord]) -> list[BaselineUpdate | str]:
    """Merge each prompt's recorded entries into its baseline file.

    Only the reference model's results are recorded (the first of several models). Entries of
    deleted cases go only when every item of the file ran, so that `-k` never loses entries.
    A file that cannot be written is reported by a line instead, and the others still are.
    """
    by_file: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in records:
        by_file[record.baseline].append(record)
    updates: list[BaselineUpdate | str] = []
    for path, rows in sorted(by_file.items()):
        entries: dict[str, BaselineEntry] = {
            r.case: r.entry for r in rows if r.reference and r.entry is not None
        }
        whole_file = len(rows) == rows[0].file_items
        unused = sorted({case for r in rows for case in r.unused}) if whole_file else []
        try:
            updates.append(update_baseline(Path(path), rows[0].prompt, entries, unused))
        except (OSError, SpecError) as exc:  # the run's results stay in the report files
            updates.append(f"baseline NOT written: {path}: {exc}")
    return updates


def _describe(update: BaselineUpdate | str) -> str:
    if isinstance(update, str):
        return update
    removed = f", removed unused {', '.join(update.removed)}" if update.removed else ""
    state = "updated" if update.changed else "unchanged"
    return (
        f"baseline {state}: {display_path(update.path)} "
        f"({update.written} entries recorded{removed})"
    )
