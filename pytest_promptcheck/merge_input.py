"""Reading the shards' .json reports for ``merge``, and checking that they make one run.

Each file must be a report of this format with the merge payload (shard_report.py); together
they must be the N shards of one split (each once), with no case in two of them, and the same
drift policy (the mode may be given on merge's command line instead).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.policy import DriftMode, DriftPolicy
from pytest_promptcheck.reports.json import REPORT_FORMAT
from pytest_promptcheck.shard_report import RUN_KEY, record_of
from pytest_promptcheck.shards import Shard, parse_shard, relative_posix

FIX = "pass the .json reports the shards wrote with --promptcheck-report"


class MergeError(Exception):
    """A report cannot be merged; the message names the file and says what to do."""


@dataclass(frozen=True)
class ShardReport:
    path: Path
    shard: Shard
    exit_status: int | None
    update_baseline: bool
    policy: DriftPolicy
    detect: float | None
    records: list[tuple[str, CaseRecord]]
    """Each case with its file's path relative to the shard's rootdir."""
    errors: list[dict[str, str]]


def read_reports(paths: list[Path]) -> list[ShardReport]:
    reports = [read_report(path) for path in paths]
    _check_split(reports)
    _check_cases(reports)
    return reports


def read_report(path: Path) -> ShardReport:
    try:
        document = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise MergeError(f"{path}: cannot be read ({exc.strerror or exc}); {FIX}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # too deep
        raise MergeError(f"{path}: not a JSON report ({exc}); {FIX}") from None
    found = document.get("format") if isinstance(document, dict) else None
    if found != REPORT_FORMAT:
        raise MergeError(
            f"{path}: report format {found!r}, this pytest-promptcheck merges format "
            f"{REPORT_FORMAT}; run every shard with the same version"
        )
    if not isinstance(document.get(RUN_KEY), dict):
        raise MergeError(f"{path}: no '{RUN_KEY}' section to merge; {FIX} by this version")
    try:
        return _report(path, document)
    except MergeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UsageError) as exc:
        raise MergeError(f"{path}: malformed report ({_what(exc)}); {FIX}") from None


def _report(path: Path, document: dict[str, Any]) -> ShardReport:
    run, drift = document[RUN_KEY], document["drift"]
    rootdir = Path(str(run["rootdir"]))
    records = []
    for index, case in enumerate(document["cases"]):
        try:
            record = record_of(case)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MergeError(f"{path}: cases[{index}] is malformed ({_what(exc)}); {FIX}") from None
        records.append((relative_posix(Path(record.file), rootdir), record))
    shard = run["shard"]
    return ShardReport(
        path=path,
        shard=Shard(1, 1) if shard is None else parse_shard(str(shard), f"{path}: run.shard"),
        exit_status=None if run["exit_status"] is None else int(run["exit_status"]),
        update_baseline=bool(run["update_baseline"]),
        policy=DriftPolicy(
            DriftMode(drift["mode"]), float(drift["tolerance"]), float(drift["alpha"])
        ),
        detect=None if run["detect"] is None else float(run["detect"]),
        records=records,
        errors=[{"node": str(e["node"]), "error": str(e["error"])} for e in document["errors"]],
    )


def _what(exc: Exception) -> str:
    return f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)


def _check_split(reports: list[ShardReport]) -> None:
    """The reports are the N shards of one split, each once."""
    counts = {report.shard.count for report in reports}
    if len(counts) > 1:
        shown = ", ".join(f"{r.path} is {r.shard}" for r in reports)
        raise MergeError(f"the reports come from different splits ({shown}); merge one split")
    seen: dict[int, Path] = {}
    for report in reports:
        other = seen.setdefault(report.shard.index, report.path)
        if other != report.path:
            raise MergeError(
                f"{report.path}: shard {report.shard} again (also {other}); pass each shard once"
            )
    count = counts.pop()
    if len(seen) < count:
        # the first few only: the count comes from the reports, and may be huge
        absent = (f"{k}/{count}" for k in range(1, count + 1) if k not in seen)
        missing = list(itertools.islice(absent, 5)) + ["..."] * (count - len(seen) > 5)
        raise MergeError(
            f"shard {', '.join(missing)} missing: a merge of part of the shards is not the "
            "run's result; pass every shard's report"
        )


def _check_cases(reports: list[ShardReport]) -> None:
    owner: dict[tuple[str, str, str], Path] = {}
    nodes: dict[str, Path] = {}
    for report in reports:
        for relative, record in report.records:
            key = (relative, record.case, record.model)
            _once(owner, key, report.path, f"case {relative}::{record.case} [{record.model}]")
        for error in report.errors:
            _once(nodes, error["node"], report.path, f"item {error['node']}")


def _once(seen: dict[Any, Path], key: Any, path: Path, what: str) -> None:
    other = seen.setdefault(key, path)
    if other != path:
        raise MergeError(f"{path}: {what} is also in {other}; each case belongs to one shard")


def drift_policy(reports: list[ShardReport], mode: DriftMode | None) -> DriftPolicy:
    """The shards' drift policy; ``mode`` from the command line replaces theirs."""
    first = reports[0]
    for report in reports[1:]:
        theirs, ours = report.policy, first.policy
        if (theirs.alpha, theirs.tolerance) != (ours.alpha, ours.tolerance):
            raise MergeError(
                f"{report.path}: alpha {theirs.alpha:g}, tolerance {theirs.tolerance:g}, but "
                f"{first.path}: {ours.alpha:g}, {ours.tolerance:g}; run every shard alike"
            )
        if mode is None and theirs.mode is not ours.mode:
            raise MergeError(
                f"{report.path}: --promptcheck-drift={theirs.mode.value}, but {first.path}: "
                f"{ours.mode.value}; run every shard alike or give merge --drift"
            )
    off = next((r for r in reports if r.policy.mode is DriftMode.OFF), None)
    if off is not None and mode is not None and mode is not DriftMode.OFF:
        raise MergeError(
            f"{off.path}: the shard ran with --promptcheck-drift=off, so there is no "
            f"comparison to gate with --drift={mode.value}; run every shard with warn or fail"
        )
    return DriftPolicy(mode or first.policy.mode, first.policy.tolerance, first.policy.alpha)
