"""What a .json report carries for ``python -m pytest_promptcheck merge``, and reading it back.

Besides what people and tools read (json.py), each case keeps the rest of its record (tallies,
usage, baseline file). A shard's multiple-testing adjustment counts only its own cases, so merge
redoes it over every shard's cases, from their samples' pass counts.
"""

from __future__ import annotations

from typing import Any

from pytest_promptcheck.agreement import Agreement
from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import Counts, counts_of
from pytest_promptcheck.entry import BaselineEntry, EntryError, Reader
from pytest_promptcheck.records import total_cost
from pytest_promptcheck.reports.base import ReportInput

RUN_KEY = "run"
RECORD_KEY = "record"
_COUNT_NAMES = ("baseline_passed", "baseline_n", "passed", "n")


def run_fields(report: ReportInput) -> dict[str, Any]:
    facts = report.run
    return {
        RUN_KEY: {
            "rootdir": facts.rootdir,
            "shard": facts.shard,
            "exit_status": facts.exit_status,
            "update_baseline": facts.update_baseline,
            "detect": report.view.detect,
        }
    }


def case_fields(record: CaseRecord) -> dict[str, Any]:
    rest = record._replace(entry=None, baseline_entry=None, drift=None).to_json()
    # the report shows the case and its result already; usage (live or cached calls) says how
    # this run got the result, not what it is, and would make two runs' reports differ
    for shown in ("prompt", "file", "case", "model", "entry", "baseline_entry", "drift", "usage"):
        del rest[shown]
    return {RECORD_KEY: rest}


def counts_in(data: dict[str, Any]) -> Counts:
    baseline_passed, baseline_n, passed, n = (int(data[name]) for name in _COUNT_NAMES)
    return baseline_passed, baseline_n, passed, n


def record_of(case: dict[str, Any]) -> CaseRecord:
    """A case of the report as the end of the run saw it (KeyError/TypeError if malformed);
    its usage is summed from the recorded samples (whether they came from the cache is not
    kept)."""
    _check_drift(case.get("drift"))
    entry = BaselineEntry.from_json(case["result"])
    read = Reader(case, "")
    record = CaseRecord.from_json(
        {
            **_checked_rest(Reader(read.mapping(RECORD_KEY), RECORD_KEY)),
            "usage": _usage_of(entry),
            "prompt": read.text("prompt"),
            "file": read.text("file"),
            "case": read.text("case"),
            "model": read.text("model"),
            "entry": case["result"],
            "baseline_entry": case["baseline"],
            "drift": case["drift"],
        }
    )
    _check_counts(record)
    return record


def _checked_rest(read: Reader) -> dict[str, Any]:
    """The record's own fields, typed (EntryError naming the first wrong one); the tallies
    are checked against the samples."""
    for agreement in read.items("agreements") if "agreements" in read.data else ():
        if not isinstance(agreement, dict):
            raise EntryError(f"{RECORD_KEY}.agreements", "a list of objects")
        Agreement.from_json(agreement)  # TypeError/KeyError on a wrong shape
    read.text("baseline")
    read.flag("reference")
    read.integer("file_items")
    read.text_items("unused")
    return read.data


def _check_counts(record: CaseRecord) -> None:
    """The record's counts are its samples' (ValueError if not): merge computes from the
    samples, whose number the file's size bounds, never from a count that could be 10**30."""
    entry, baseline = record.entry, record.baseline_entry
    if entry is not None and record.tally != entry.tally:
        raise ValueError("its tally does not match its result's samples")
    if record.baseline_tally != (None if baseline is None else baseline.tally):
        raise ValueError("its baseline tally does not match its baseline's samples")
    drift = record.drift
    if drift is None or drift.get("family") is None:
        return
    if entry is None or baseline is None or counts_in(drift) != counts_of(baseline, entry):
        raise ValueError("its drift counts do not match its samples")


def _check_drift(drift: Any) -> None:
    """What merge reads of a case's drift is there (KeyError/TypeError/ValueError if not)."""
    if drift is None:
        return
    for name in ("effect", "cause_text", "unexplained"):
        drift[name]
    if drift.get("family") is not None:
        counts_in(drift)


def _usage_of(entry: BaselineEntry) -> list[Any]:
    """``Usage`` as ``CaseRecord.to_json`` lists it."""
    samples = entry.samples
    # a flow's sample made one call per step of its trace, a conversation one per turn
    calls = sum(len(s.trace) or len(s.turns) or 1 for s in samples)
    return [
        len(samples),
        calls,
        0,
        sum(s.tokens_in + s.tokens_out for s in samples),
        total_cost(s.cost_usd for s in samples),
        [round(s.latency_ms, 1) for s in samples],
        entry.model.reported or "",
    ]
