"""The .json report: every case and sample, for machines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pytest_promptcheck.agreement import run_agreements
from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.reports.base import ReportInput
from pytest_promptcheck.shard_report import case_fields, run_fields
from pytest_promptcheck.stats import pass_at_k, pass_hat_k, wilson_interval

REPORT_FORMAT = 1


def render(report: ReportInput) -> str:
    view = report.view
    document = {
        "format": REPORT_FORMAT,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "drift": {
            "mode": view.policy.mode.value,
            "alpha": view.policy.alpha,
            "tolerance": view.policy.tolerance,
        },
        "totals": view.totals(len(report.errors)),
        "matrix": {
            prompt: {model: vars(cell) for model, cell in by_model.items()}
            for prompt, by_model in view.matrix().items()
        },
        "sampled": [vars(prompt) for prompt in view.sampled_prompts()],
        "unused": view.unused(),
        "errors": report.errors,
        "cases": [{**_case(record), **case_fields(record)} for record in view.records],
        **run_fields(report),
    }
    judges = run_agreements(record.agreements for record in view.records)
    if judges:  # only then: reports of runs without labelled judges stay as they were
        document["judges"] = [judge.to_json() for judge in judges]
    return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


def _case(record: CaseRecord) -> dict[str, Any]:
    tally = record.tally
    n, passed = tally.n, tally.passed
    return {
        "prompt": record.prompt,
        "file": record.file,
        "case": record.case,
        "model": record.model,
        "verdict": tally.verdict,
        "passed": passed,
        "n": n,
        "pass_rate": passed / n,
        "wilson_95": list(wilson_interval(passed, n)),
        "pass_at_k": {str(k): pass_at_k(n, passed, k) for k in range(1, n + 1)},
        "pass_hat_k": {str(k): pass_hat_k(n, passed, k) for k in range(1, n + 1)},
        "drift": record.drift,
        "result": _entry(record.entry),
        "baseline": _as_recorded(record.baseline_entry),
    }


def _entry(entry: BaselineEntry | None) -> dict[str, Any] | None:
    return None if entry is None else entry.to_json()


def _as_recorded(entry: BaselineEntry | None) -> dict[str, Any] | None:
    """A baseline entry with its keys in the order the baseline file holds them (sorted)."""
    if entry is None:
        return None
    recorded: dict[str, Any] = json.loads(json.dumps(entry.to_json(), sort_keys=True))
    return recorded
