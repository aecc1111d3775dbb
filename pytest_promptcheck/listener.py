"""Feeds the run summary from test reports, which xdist workers send to the controller."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_promptcheck.properties import prompt_and_model
from pytest_promptcheck.summary import RunSummary

if TYPE_CHECKING:
    from pytest_promptcheck.case_record import CaseRecord

LISTENER_NAME = "promptcheck-report-listener"
RECORD_KEY = pytest.StashKey["CaseRecord"]()
"""A case's record from its run until its call report takes it."""
RECORD_ATTRIBUTE = "promptcheck"
"""A case's record (``CaseRecord.to_json``) rides on its call-phase report: other plugins read
it there, and xdist carries report attributes to the controller, which alone writes baselines
and report files."""
NOTES_ATTRIBUTE = "promptcheck_notes"
"""In an xdist worker, the session's notes (cache disabled, interrupted) ride on reports too,
so that the controller, which has no session of its own, shows them."""


class ReportListener:
    """Reads each case's record from its call report into the summary; a case that errored in
    setup has no record and counts as an error of its prompt and model."""

    def __init__(self, summary: RunSummary, *, forwards: bool = False) -> None:
        self.summary = summary
        self.forwards = forwards
        """In an xdist worker, which forwards each report to the controller's listener."""
        self.notes: dict[str, str] = {}
        """One note of each kind, the latest seen (every xdist worker may send one, and a cache
        that became read-only may later fail altogether)."""
        self._carried: tuple[dict[str, Any], CaseRecord] | None = None
        """The last record this process put on a report, beside its JSON: the summary takes
        the record itself when that JSON reaches it, rather than rebuilding it."""

    def add_notes(self, notes: list[str]) -> None:
        for note in notes:
            kind = note.partition(": ")[2].partition(":")[0]
            self.notes[kind] = note

    def carry(self, report: pytest.TestReport, record: CaseRecord) -> None:
        """Put a case's record on its call report."""
        data = record.to_json()
        setattr(report, RECORD_ATTRIBUTE, data)
        self._carried = (data, record)

    @pytest.hookimpl(trylast=True)  # other plugins see the record on the report first
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        notes = getattr(report, NOTES_ATTRIBUTE, None)
        if isinstance(notes, list):
            self.add_notes([str(note) for note in notes])
        when = report.when
        if when == "call":
            record = self._record(report)
            if record is not None:
                self.summary.add_record(record, report.outcome)
                return
        elif when == "teardown" or not report.failed:
            return  # nothing the summary counts (and three reports per item: properties unread)
        case = prompt_and_model(report.user_properties)
        if case is None:
            return
        if when == "call":  # the item failed before its record was made
            self.summary.count(*case, report.outcome)
        else:
            first_line = report.longreprtext.strip().splitlines()[:1]
            self.summary.add_error(*case, report.nodeid, "".join(first_line))

    def _record(self, report: pytest.TestReport) -> CaseRecord | None:
        """The call report's record: the one carried here, else (from an xdist worker) its JSON
        read back."""
        data = getattr(report, RECORD_ATTRIBUTE, None)
        if not isinstance(data, dict):
            return None
        if not self.forwards:  # the summary has it now; pytest keeps every report to the end
            delattr(report, RECORD_ATTRIBUTE)
        carried, self._carried = self._carried, None
        if carried is not None and carried[0] is data:
            return carried[1]
        from pytest_promptcheck.case_record import CaseRecord  # not needed before a case ran

        return CaseRecord.from_json(data)
