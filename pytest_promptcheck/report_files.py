"""``--promptcheck-report``: a .json file for machines and a .md file for a pull request."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import Effect
from pytest_promptcheck.drift_summary import EFFECTS, DriftView
from pytest_promptcheck.stats import pass_at_k, pass_hat_k, wilson_interval

REPORT_FORMAT = 1


def write_report(path: Path, view: DriftView, errors: list[dict[str, str]]) -> None:
    text = markdown(view, errors) if path.suffix.lower() == ".md" else json_text(view, errors)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def json_text(view: DriftView, errors: list[dict[str, str]]) -> str:
    document = {
        "format": REPORT_FORMAT,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "drift": {
            "mode": view.policy.mode.value,
            "alpha": view.policy.alpha,
            "tolerance": view.policy.tolerance,
        },
        "totals": totals(view, errors),
        "matrix": {
            prompt: {model: vars(cell) for model, cell in by_model.items()}
            for prompt, by_model in view.matrix().items()
        },
        "sampled": [vars(prompt) for prompt in view.sampled_prompts()],
        "unused": view.unused(),
        "errors": errors,
        "cases": [_case(record) for record in view.records],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


def totals(view: DriftView, errors: list[dict[str, str]]) -> dict[str, int]:
    counts = {
        "cases": len(view.records),
        "passed": sum(r.passed for r in view.records),
        "failed": sum(not r.passed for r in view.records),
        "errors": len(errors),
    }
    for effect in EFFECTS:
        counts[effect.value] = len(view.moved(effect))
    return counts


def _case(record: CaseRecord) -> dict[str, Any]:
    entry = record.entry
    n, passed = int(entry["n"]), int(entry["passed"])
    return {
        "prompt": record.prompt,
        "file": record.file,
        "case": record.case,
        "model": record.model,
        "verdict": entry["verdict"],
        "passed": passed,
        "n": n,
        "pass_rate": passed / n,
        "wilson_95": list(wilson_interval(passed, n)),
        "pass_at_k": {str(k): pass_at_k(n, passed, k) for k in range(1, n + 1)},
        "pass_hat_k": {str(k): pass_hat_k(n, passed, k) for k in range(1, n + 1)},
        "drift": record.drift,
        "result": entry,
        "baseline": record.baseline_entry,
    }


def markdown(view: DriftView, errors: list[dict[str, str]]) -> str:
    count = totals(view, errors)
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
        lines += ["", "### Model matrix", "", "passed, and -regressed/+improved per model", ""]
        lines += _table(
            ("prompt", *view.models),
            [
                (prompt, *(by[m].text() if m in by else "-" for m in view.models))
                for prompt, by in view.matrix().items()
            ],
        )
        differences = view.model_differences()
        if differences:
            lines += ["", "Cases whose verdict differs between models:", ""]
            lines += [
                f"- `{label}`: "
                + ", ".join(f"{m} {'passed' if ok else '**failed**'}" for m, ok in verdicts.items())
                for label, verdicts in differences
            ]
    for effect in (Effect.REGRESSED, Effect.IMPROVED):
        lines += _cases(f"{effect.value.capitalize()}", view.moved(effect))
    lines += _cases("Changed (same verdict)", view.moved(Effect.CHANGED))
    sampled = view.sampled_prompts()
    if sampled:
        tests = view.family
        lines += ["", "### Sampled cases", ""]
        lines += [f"- {prompt.line(view.policy, tests)}" for prompt in sampled]
        detect = view.detect_line()
        lines += [f"- {detect}"] if detect else []
    for path, ids in view.unused().items():
        lines += ["", f"Unused baseline entries in `{path}`: {', '.join(ids)}"]
    if errors:
        lines += ["", "### Errors", ""]
        lines += [f"- `{e['node']}`: {_cell(e['error'])}" for e in errors]
    return "\n".join(lines) + "\n"


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
