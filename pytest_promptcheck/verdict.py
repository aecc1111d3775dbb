"""What a check sees of one sample, and what it answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_promptcheck.records import Completion


class _NotJson:
    """Marks a sample whose output was not parsed as JSON (text format, or a parse error)."""

    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJson()


@dataclass(frozen=True)
class Verdict:
    """A check's answer for one sample: a score in [0, 1], pass/fail and a reason for people."""

    passed: bool
    score: float
    reason: str
    evaluated: bool = True
    """False when the check could not judge the sample (no JSON, unknown cost, a crash);
    such a verdict fails, and its negation fails too instead of passing silently."""


@dataclass(frozen=True)
class SampleContext:
    """One sample as checks see it."""

    text: str
    completion: Completion
    json: Any = NOT_JSON
    """The parsed output when the prompt's format is json and it parsed; else NOT_JSON."""
    json_format: bool = False
    case_id: str = ""
    vars: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[[SampleContext], Verdict]
"""A prepared check: its argument was validated at collection time."""

CheckFactory = Callable[[Any, Path], CheckFn]
"""Prepares a check from its argument and the prompt file's folder; raises CheckArgError."""
