"""The drift part of the terminal summary: the rows of ``DriftView`` as aligned text."""

from __future__ import annotations

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import Effect
from pytest_promptcheck.drift_view import DriftView
from pytest_promptcheck.summary import align

CHANGED_SHOWN = 10
"""Changed cases kept their verdict: the summary lists the first few, a report lists all."""


def drift_summary_lines(view: DriftView) -> list[str]:
    lines: list[str] = []
    if view.compared and all(r.effect == Effect.NEW.value for r in view.compared):
        lines.append(
            f"drift: no baseline yet for these {len(view.compared)} cases; record one with "
            "pytest --promptcheck-update-baseline and commit __promptcheck__/"
        )
    elif view.compared:
        lines += ["drift against the baseline:", *align(view.count_rows())]
        lines += _moved_lines(view)
    if len(view.models) > 1:
        lines += _matrix_lines(view)
    sampled = view.sampled_lines()
    if sampled:
        lines += ["sampled cases:", *(f"  {line}" for line in sampled)]
    for path, ids in view.unused().items():
        lines.append(
            f"unused baseline entries in {path}: {', '.join(ids)} (their cases no longer "
            "exist; an update of the whole file removes them)"
        )
    return lines


def _moved_lines(view: DriftView) -> list[str]:
    lines = []
    for effect in (Effect.REGRESSED, Effect.IMPROVED):
        for record in view.moved(effect):
            lines.append(f"  {effect.value.upper():9} {_case_line(record, view.models)}")
    changed = view.moved(Effect.CHANGED)
    for record in changed[:CHANGED_SHOWN]:
        lines.append(f"  {'CHANGED':9} {_case_line(record, view.models)}")
    if len(changed) > CHANGED_SHOWN:
        more = len(changed) - CHANGED_SHOWN
        lines.append(f"  ... and {more} more changed (all of them: --promptcheck-report)")
    return lines


def _matrix_lines(view: DriftView) -> list[str]:
    lines = ["model matrix (passed, and -regressed/+improved against the baseline):"]
    lines += align(view.matrix_rows())
    differences = view.model_differences()
    if differences:
        lines.append("cases whose verdict differs between models:")
        for label, verdict_of in differences:
            verdicts = ", ".join(
                f"{model} {'passed' if ok else 'FAILED'}" for model, ok in verdict_of.items()
            )
            lines.append(f"  {label}: {verdicts}")
    return lines


def _case_line(record: CaseRecord, models: list[str]) -> str:
    drift = record.drift or {}
    where = f" [{record.model}]" if len(models) > 1 else ""
    return f"{record.label}{where}  {record.cause}: {drift.get('reason', '')}"
