"""The .md report: for a pull request comment or ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_promptcheck.agreement import run_agreements
from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import Effect
from pytest_promptcheck.drift_view import EFFECTS, DriftView
from pytest_promptcheck.reports.base import ReportInput


def render(report: ReportInput) -> str:
    view, errors = report.view, report.errors
    count = view.totals(len(errors))
    lines = [
        "## promptcheck",
        "",
        f"**{count['cases']} cases**: {count['passed']} passed, {count['failed']} failed, "
        f"{count['errors']} error{'' if count['errors'] == 1 else 's'}. "
        "Drift against the baseline: " + ", ".join(f"{count[e.value]} {e.value}" for e in EFFECTS),
        "",
    ]
    header, *rows = view.count_rows()
    lines += _table(header, rows)
    if len(view.models) > 1:
        lines += _matrix(view)
    for effect in (Effect.REGRESSED, Effect.IMPROVED):
        lines += _cases(f"{effect.value.capitalize()}", view.moved(effect))
    lines += _cases("Changed (same verdict)", view.moved(Effect.CHANGED))
    sampled = view.sampled_lines()
    if sampled:
        lines += ["", "### Sampled cases", "", *(f"- {line}" for line in sampled)]
    for path, ids in view.unused().items():
        lines += ["", f"Unused baseline entries in `{path}`: {', '.join(ids)}"]
    lines += _judges(view.records)
    if errors:
        lines += ["", "### Errors", ""]
        lines += [f"- `{e['node']}`: {_cell(e['error'])}" for e in errors]
    return "\n".join(lines) + "\n"


def _judges(records: list[CaseRecord]) -> list[str]:
    """Each judge with labels against the people who labelled (absent without labels)."""
    agreements = run_agreements(record.agreements for record in records)
    if not agreements:
        return []
    header = ("judge", "labels", "n", "kappa", "TPR", "TNR", "tp", "fp", "fn", "tn", "votes agree")
    rows = [a.cells() for a in agreements]
    return ["", "### Judges against people's labels", "", *_table(header, rows)]


def _matrix(view: DriftView) -> list[str]:
    header, *rows = view.matrix_rows()
    lines = ["", "### Model matrix", "", "passed, and -regressed/+improved per model", ""]
    lines += _table(header, rows)
    differences = view.model_differences()
    if differences:
        lines += ["", "Cases whose verdict differs between models:", ""]
        lines += [
            f"- `{label}`: "
            + ", ".join(f"{m} {'passed' if ok else '**failed**'}" for m, ok in verdicts.items())
            for label, verdicts in differences
        ]
    return lines


def _cases(title: str, records: list[CaseRecord]) -> list[str]:
    if not records:
        return []
    rows = [
        (f"`{r.label}`", r.model, r.cause, _cell(str((r.drift or {}).get("reason", ""))))
        for r in records
    ]
    heading = f"### {title} ({len(records)})"
    return ["", heading, "", *_table(("case", "model", "cause", "detail"), rows)]


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(cells) + " |"

    return [line(header), line(tuple("---" for _ in header)), *(line(r) for r in rows)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
