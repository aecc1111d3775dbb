"""``python -m pytest_promptcheck merge shard-*.json``: one run's result from its shards.

The shards' cases are put back in one run's order, the multiple-testing adjustment of the
sampled cases is redone over all of them (a shard's own counted only its cases), each such
case's drift is classified again from the new p-values exactly as one run does, the drift gate
is applied, and the reports are written by the same writers as a run's. The exit code is the
one an unsharded run would have had.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import Counts, Effect, adjust, classify, counts_of
from pytest_promptcheck.drift_view import EFFECTS, DriftView
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.merge_input import MergeError, ShardReport, drift_policy, read_reports
from pytest_promptcheck.policy import DriftMode, DriftPolicy
from pytest_promptcheck.reports.base import ReportInput, RunFacts
from pytest_promptcheck.reports.registry import report_formats_help, write_report
from pytest_promptcheck.settings import parse_drift_mode, parse_report_path

PROG = "python -m pytest_promptcheck merge"
BAD_USAGE = 2
"""Bad usage of the command itself (argparse's code)."""
# pytest's exit codes (pytest.ExitCode), without importing pytest for a command that needs none
OK, FAILED, INTERRUPTED, INTERNAL_ERROR, USAGE_ERROR, NO_TESTS = 0, 1, 2, 3, 4, 5
WORST_FIRST = (INTERNAL_ERROR, INTERRUPTED, USAGE_ERROR)


@dataclass(frozen=True)
class Merged:
    records: list[CaseRecord]
    errors: list[dict[str, str]]
    policy: DriftPolicy
    detect: float | None
    gated: list[CaseRecord]
    """Cases that passed their checks and regressed, failed by the drift gate."""
    exit_code: int


def main(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exc:  # --help, or bad usage (printed): a code, not an exit
        return int(exc.code or 0)
    try:
        reports = read_reports(args.reports)
        merged = merge(reports, args.drift)
    except MergeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return BAD_USAGE
    view = DriftView(merged.records, merged.policy, merged.detect)
    updating = any(report.update_baseline for report in reports)  # no drift gate applied
    facts = RunFacts(exit_status=merged.exit_code, update_baseline=updating)
    lines = _summary(merged, len(reports))
    for path in args.report:
        try:
            write_report(path, ReportInput(view, merged.errors, facts))
        except (OSError, ValueError) as exc:
            print(f"{PROG}: error: report {path} not written: {exc}", file=sys.stderr)
            return BAD_USAGE
        lines.append(f"report written: {path}")
    print("\n".join(lines))
    return merged.exit_code


def merge(reports: list[ShardReport], mode: DriftMode | None) -> Merged:
    policy = drift_policy(reports, mode)
    records = [record for _, record in _in_run_order(reports)]
    if policy.mode is DriftMode.OFF:
        records = [record._replace(drift=None) for record in records]
    else:
        records = readjust(records, policy)
    errors = [error for report in reports for error in report.errors]
    updating = any(report.update_baseline for report in reports)
    gating = policy.mode is DriftMode.FAIL and not updating
    gated = [r for r in records if gating and r.passed and r.effect == Effect.REGRESSED.value]
    failed = errors or gated or not all(r.passed for r in records)
    statuses = {report.exit_status for report in reports}
    detect = next((r.detect for r in reports if r.detect is not None), None)
    code = _exit_code(statuses, bool(failed), nothing=not (records or errors))
    return Merged(records, errors, policy, detect, gated, code)


def _in_run_order(reports: list[ShardReport]) -> list[tuple[str, CaseRecord]]:
    """One run collects files in path order (pytest sorts each directory's entries), and a
    file's items in their own order, which each shard kept."""
    cases = [pair for report in reports for pair in report.records]
    return sorted(cases, key=lambda pair: PurePosixPath(pair[0]).parts)


def readjust(records: list[CaseRecord], policy: DriftPolicy) -> list[CaseRecord]:
    """The sampled cases' drift again, from p-values adjusted across every shard's cases."""
    adjusted = {
        str(index): record
        for index, record in enumerate(records)
        if record.drift is not None and record.drift.get("family") is not None
    }
    # the counts come from the entries' samples (checked against them), never from the
    # drift's own numbers: those are free text of the file, and huge ones hang the exact test
    counts: dict[str, Counts] = {
        key: counts_of(*_entries(record)) for key, record in adjusted.items()
    }
    significance = adjust(counts, policy.alpha)
    result = list(records)
    for key, sig in significance.items():
        record = adjusted[key]
        drift = classify(*_entries(record), policy, sig)
        result[int(key)] = record._replace(drift=drift.to_json())
    return result


def _entries(record: CaseRecord) -> tuple[BaselineEntry, BaselineEntry]:
    """A sampled case's baseline entry and this run's."""
    if record.entry is None or record.baseline_entry is None:
        raise MergeError(
            f"case {record.label} [{record.model}] has no samples in its report; write "
            "the shard's report with this version's --promptcheck-report"
        )
    return record.baseline_entry, record.entry


def _exit_code(statuses: set[int | None], failed: bool, *, nothing: bool) -> int:
    """What pytest would have returned for the whole run."""
    worst = next((code for code in WORST_FIRST if code in statuses), None)
    if worst is not None:
        return worst
    if failed or FAILED in statuses:  # a shard's other tests (not prompt files) failed
        return FAILED
    return NO_TESTS if nothing and statuses <= {NO_TESTS, None} else OK


def _summary(merged: Merged, shards: int) -> list[str]:
    view = DriftView(merged.records, merged.policy, merged.detect)
    count = view.totals(len(merged.errors))
    lines = [
        f"promptcheck merge: {shards} shard report{'s' if shards != 1 else ''}, "
        f"{count['cases']} cases: {count['passed']} passed, {count['failed']} failed, "
        f"{count['errors']} error{'' if count['errors'] == 1 else 's'}",
        "drift: " + ", ".join(f"{count[e.value]} {e.value}" for e in EFFECTS),
    ]
    lines += [f"  REGRESSED {r.label} [{r.model}]  {r.cause}" for r in view.moved(Effect.REGRESSED)]
    if merged.gated:
        lines.append(
            f"drift gate ({merged.policy.mode.value}): {len(merged.gated)} regressed cases "
            "that passed their checks fail the run"
        )
    lines.append(f"exit code {merged.exit_code}")
    return lines


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Merge the .json reports of the shards of one run (--promptcheck-shard=K/N) "
        "into one result: the sampled cases' p-values are adjusted again across all shards, "
        "the drift gate is applied, and the exit code is the one the unsharded run would have "
        "had (pytest's: 0 passed, 1 failed or errored, 5 nothing ran).",
    )
    parser.add_argument(
        "reports",
        nargs="+",
        type=Path,
        metavar="SHARD.json",
        help="the .json report of every shard (--promptcheck-report), each once",
    )
    parser.add_argument(
        "--report",
        action="append",
        default=[],
        type=_checked(lambda v: parse_report_path(v, "--report"), "--report"),
        metavar="PATH",
        help=f"write the merged report by the path's suffix: {report_formats_help()}; "
        "repeat for several",
    )
    parser.add_argument(
        "--drift",
        type=_checked(lambda v: parse_drift_mode(v, "--drift"), "--drift"),
        default=None,
        metavar="MODE",
        help="the drift gate: fail (regressed cases fail the merge), warn, off. "
        "Default: the shards' --promptcheck-drift, which must then agree.",
    )
    return parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, no usage block: it is read in a CI log."""
        self.exit(BAD_USAGE, f"{PROG}: error: {message} (see --help)\n")


def _checked(parse: Callable[[str], Any], flag: str) -> Callable[[str], Any]:
    def argument(value: str) -> Any:
        try:
            return parse(value)
        except UsageError as exc:  # argparse names the flag itself
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{flag}: ")) from None

    return argument
