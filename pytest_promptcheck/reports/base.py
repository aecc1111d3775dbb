"""What every report writer reads and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_promptcheck.drift_view import DriftView


@dataclass(frozen=True)
class RunFacts:
    """What the run was, for ``python -m pytest_promptcheck merge`` (the .json report keeps it)."""

    rootdir: str = ""
    """Case files are named relative to it when shards of several checkouts are merged."""
    shard: str | None = None
    """``K/N`` when the run was a shard."""
    exit_status: int | None = None
    """pytest's exit status of the run (before an empty shard's 5 becomes 0)."""
    update_baseline: bool = False
    """The run recorded baselines, so no drift gate applied."""


@dataclass(frozen=True)
class ReportInput:
    """What a report says: the run's case records seen whole, and the items that errored."""

    view: DriftView
    errors: list[dict[str, str]]
    """Node id and the error's first line, per item whose model calls failed."""
    run: RunFacts = field(default_factory=RunFacts)


Render = Callable[[ReportInput], str]
"""A writer: the report's text."""
