"""The report formats: ``--promptcheck-report PATH`` picks a writer by the path's suffix.

One registry: the option's validation, its help text and the end of the run all read
``FORMATS``. A writer's module is imported only when a report of its format is written, so
that a run without reports pays for none of them. A new format is one more entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_promptcheck.reports.base import Render, ReportInput


def _json() -> Render:
    from pytest_promptcheck.reports.json import render

    return render


def _markdown() -> Render:
    from pytest_promptcheck.reports.md import render

    return render


def _html() -> Render:
    from pytest_promptcheck.reports.html import render

    return render


@dataclass(frozen=True)
class ReportFormat:
    suffix: str
    """Lower case, with the dot."""
    purpose: str
    """For the option's help text."""
    load: Callable[[], Render]


FORMATS = (
    ReportFormat(".json", "every case and sample, for machines", _json),
    ReportFormat(".md", "for a PR comment or $GITHUB_STEP_SUMMARY", _markdown),
    ReportFormat(".html", "one self-contained page to review, offline", _html),
)


def format_of(path: Path) -> ReportFormat | None:
    suffix = path.suffix.lower()
    return next((f for f in FORMATS if f.suffix == suffix), None)


def known_suffixes() -> str:
    """``.json or .md``, for messages."""
    names = [f.suffix for f in FORMATS]
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def report_formats_help() -> str:
    return ", ".join(f"{f.suffix} ({f.purpose})" for f in FORMATS)


def write_report(path: Path, report: ReportInput) -> None:
    """Write the report of the path's format (the option's validation refused other suffixes)."""
    found = format_of(path)
    if found is None:
        raise ValueError(f"no report format for '{path}'; use {known_suffixes()}")
    text = found.load()(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
