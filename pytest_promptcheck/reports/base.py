"""What every report writer reads and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pytest_promptcheck.drift_view import DriftView


@dataclass(frozen=True)
class ReportInput:
    """What a report says: the run's case records seen whole, and the items that errored."""

    view: DriftView
    errors: list[dict[str, str]]
    """Node id and the error's first line, per item whose model calls failed."""


Render = Callable[[ReportInput], str]
"""A writer: the report's text."""
