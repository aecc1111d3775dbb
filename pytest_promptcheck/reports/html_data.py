"""What the .html report's page shows, as plain JSON data: the verdict, counts, usage against
the baseline, and per case and model its outputs grouped, checks old → new, a judge's reasoning,
tool calls and the accept command. The page's script only lays it out.

Ordering is stable (rows by how far they moved, then prompt and case; models with the baseline's
reference first), so the same results give the same data whatever order xdist finished in.
"""

from __future__ import annotations

import shlex
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import Effect
from pytest_promptcheck.drift_view import EFFECTS, DriftView
from pytest_promptcheck.entry import BaselineEntry, SampleRecord
from pytest_promptcheck.policy import DriftMode
from pytest_promptcheck.records import total_cost
from pytest_promptcheck.reports.base import ReportInput
from pytest_promptcheck.stats import wilson_interval

DATA_FORMAT = 1
_RANK = {effect.value: rank for rank, effect in enumerate(EFFECTS)}
_ALWAYS = ("text", "count", "passed")
"""A group's keys written even when empty or zero."""
_UNCOMPARED = len(EFFECTS)
"""Rank of a case with no drift (no baseline compared): after every effect."""


def report_data(report: ReportInput) -> dict[str, Any]:
    view = report.view
    models = _models(view.records)
    rows = _rows(view.records, models)
    return {
        "format": DATA_FORMAT,
        "verdict": _verdict(view, len(report.errors), report.run.update_baseline),
        "totals": view.totals(len(report.errors)),
        "causes": _causes(view.records),
        "usage": _usage(view.records),
        "matrix": view.matrix_rows(),
        "models": models,
        "prompts": sorted({r.prompt for r in view.records}),
        "checks": sorted({c for r in view.records for c in _check_labels(r)}),
        "rows": rows,
        "sampled": view.sampled_lines(),
        "unused": view.unused(),
        "errors": sorted(report.errors, key=lambda e: (e["node"], e["error"])),
    }


def _models(records: Sequence[CaseRecord]) -> list[str]:
    reference = {r.model for r in records if r.reference}
    return sorted({r.model for r in records}, key=lambda m: (m not in reference, m))


def _rows(records: Sequence[CaseRecord], models: list[str]) -> list[dict[str, Any]]:
    """One row per case, a cell per model (None where the case did not run on it)."""
    by_case: dict[tuple[str, str], dict[str, CaseRecord]] = {}
    for record in records:
        by_case.setdefault((record.prompt, record.case), {})[record.model] = record
    rows = [
        {
            "prompt": prompt,
            "case": case,
            "cells": [_cell(cells[m]) if m in cells else None for m in models],
        }
        for (prompt, case), cells in by_case.items()
    ]
    rows.sort(key=lambda row: (_row_rank(row), row["prompt"], row["case"]))
    return rows


def _row_rank(row: dict[str, Any]) -> int:
    return min(_RANK.get(cell["effect"], _UNCOMPARED) for cell in row["cells"] if cell)


def _verdict(view: DriftView, errors: int, updating: bool) -> dict[str, Any]:
    """Pass or fail as the run's exit code has it, and each reason that gates."""
    # a run that records baselines applies no drift gate (as items.py and merge.py have it)
    gating = view.policy.mode is DriftMode.FAIL and not updating
    failed = sum(not r.passed for r in view.records)
    gated = sum(r.passed and r.effect == Effect.REGRESSED.value for r in view.records)
    reasons = []
    if failed:
        its = "its" if failed == 1 else "their"
        reasons.append(f"{failed} case{_s(failed)} failed {its} checks")
    if errors:
        reasons.append(f"{errors} item{_s(errors)} errored")
    if gating and gated:
        fail = "fails" if gated == 1 else "fail"
        reasons.append(f"{gated} regressed case{_s(gated)} {fail} the drift gate (mode fail)")
    mode = {
        DriftMode.FAIL: "drift gate on: a regression fails the run"
        if gating
        else "drift gate off while recording baselines: a regression does not fail the run",
        DriftMode.WARN: "drift mode warn: drift is reported, it does not fail the run",
        DriftMode.OFF: "drift mode off",
    }[view.policy.mode]
    return {
        "ok": not reasons,
        "reasons": reasons,
        "mode": mode,
        "alpha": view.policy.alpha,
        "tolerance": view.policy.tolerance,
    }


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _causes(records: Iterable[CaseRecord]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for record in records:
        if record.drift is not None and record.effect not in ("same", "new"):
            found.update(record.drift.get("causes") or ["no change"])
    return dict(sorted(found.items()))


def _usage(records: Sequence[CaseRecord]) -> dict[str, Any]:
    """The run's calls, tokens, cost and median latency; and the same for the cases that have
    a baseline entry, next to the baseline's, so the two compare like for like."""
    compared = [r for r in records if r.baseline_entry is not None and r.entry is not None]
    return {
        # no cached/live split: a run and its replay from the cache then write the same page
        "calls": sum(r.usage.calls for r in records),
        "run": _spend([r.entry for r in records if r.entry is not None]),
        "compared": len(compared),
        "now": _spend([r.entry for r in compared if r.entry is not None]),
        "baseline": _spend([r.baseline_entry for r in compared if r.baseline_entry is not None]),
    }


def _spend(entries: Sequence[BaselineEntry]) -> dict[str, Any]:
    return {
        "tokens": sum(e.tokens for e in entries),
        "cost_usd": total_cost(e.cost_usd for e in entries) if entries else None,
        "latency_ms": statistics.median(e.latency_ms for e in entries) if entries else None,
    }


def _cell(record: CaseRecord) -> dict[str, Any]:
    drift = record.drift or {}
    tally, base = record.tally, record.baseline_tally
    return {
        "effect": record.effect or "none",
        "verdict": tally.verdict,
        "passed": tally.passed,
        "n": tally.n,
        "interval": _interval(tally.passed, tally.n),
        "base": None if base is None else [base.passed, base.n, *_interval(base.passed, base.n)],
        "causes": list(drift.get("causes") or []),
        "cause": record.cause,
        "reason": str(drift.get("reason", "")),
        "p_value": drift.get("p_value"),
        **_outputs(record),
        "checks": _checks(record.baseline_entry, record.entry),
        "accept": _accept(record),
    }


def _interval(passed: int, n: int) -> list[float]:
    return [round(bound, 4) for bound in wilson_interval(passed, n)] if n else [0.0, 1.0]


def _outputs(record: CaseRecord) -> dict[str, Any]:
    """The run's and the baseline's grouped samples; ``was: "now"`` when they are the same
    (most cases of a large run), which keeps the page about half the size."""
    now, was = _groups(record.entry), _groups(record.baseline_entry)
    return {"now": now, "was": "now" if was and was == now else was}


def _groups(entry: BaselineEntry | None) -> list[dict[str, Any]]:
    """Samples grouped by identical answer (output and tool calls), in order of first sight."""
    if entry is None:
        return []
    groups: dict[str, list[SampleRecord]] = {}
    for sample in entry.samples:
        groups.setdefault(sample.answer, []).append(sample)
    return [_group(samples) for samples in groups.values()]


def _group(samples: list[SampleRecord]) -> dict[str, Any]:
    """A group's output and counts; its format error, tool calls, trace and judges' reasoning
    only where there are any (the page reads an absent one as empty)."""
    first = samples[0]
    group: dict[str, Any] = {
        "text": first.conversation,
        "count": len(samples),
        "passed": sum(s.passed for s in samples),
        "format_error": first.format_error,
        "tools": [[c["name"], c["arguments"]] for c in first.tool_calls],
        "trace": [_step(dict(step)) for step in first.trace],
        "judge": _judge(samples),
    }
    return {key: value for key, value in group.items() if value or key in _ALWAYS}


def _step(step: dict[str, Any]) -> dict[str, Any]:
    return {
        "step": step.get("step", ""),
        "model": step.get("model", ""),
        "output": step.get("output", ""),
        "tools": step.get("tool_calls", []),
    }


def _judge(samples: list[SampleRecord]) -> list[list[Any]]:
    """Each judge's reasoning once per distinct text: check, passed, reason."""
    seen = {
        (check.check, check.passed, check.reason): None
        for sample in samples
        for check in sample.checks
        if check.reason is not None
    }
    return [list(key) for key in seen]


def _checks(old: BaselineEntry | None, new: BaselineEntry | None) -> list[list[Any]]:
    """Per check: label, then [passed, samples, mean score] in the baseline and now."""
    before, after = _check_tallies(old), _check_tallies(new)
    return [[label, before.get(label), after.get(label)] for label in sorted({*before, *after})]


def _check_tallies(entry: BaselineEntry | None) -> dict[str, list[Any]]:
    scores: dict[str, list[tuple[bool, float]]] = {}
    for sample in entry.samples if entry is not None else ():
        for check in sample.checks:
            scores.setdefault(check.check, []).append((check.passed, check.score))
    return {
        label: [sum(p for p, _ in got), len(got), round(statistics.fmean(s for _, s in got), 4)]
        for label, got in scores.items()
    }


def _check_labels(record: CaseRecord) -> set[str]:
    return {
        check.check
        for entry in (record.entry, record.baseline_entry)
        if entry is not None
        for sample in entry.samples
        for check in sample.checks
    }


def _accept(record: CaseRecord) -> str:
    """The command that records this case's result on this model as its baseline (the form
    the failure report prints for a run with several models, which works for one too)."""
    node = f"{_from_here(record.file)}::{record.case}"
    quoted = "'" + node.replace("'", "'\\''") + "'"
    return (
        f"pytest {quoted} --promptcheck-model {shlex.quote(record.model)} "
        "--promptcheck-update-baseline"
    )


def _from_here(file: str) -> str:
    """The prompt file's path from the directory the run started in, when it lies below it:
    the command then works in any checkout (a CI artifact's absolute path would not)."""
    path = Path(file)
    if not path.is_absolute():
        return file
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return file
