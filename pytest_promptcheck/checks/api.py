"""The check API: what a check sees of one sample, what it answers, and how a check that asks
a model about the output declares its calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.records import Completion, ModelRequest

if TYPE_CHECKING:
    from pytest_promptcheck.tools import Tool


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
    tools: tuple[Tool, ...] = ()
    """The tools the prompt offered (``tool_calls_valid`` checks the calls against them); the
    calls themselves are ``completion.tool_calls``."""
    trace: tuple[Any, ...] | None = None
    """A flow sample's inner calls (``trace.TraceStep``), in order; None for a prompt."""
    recorded: tuple[str, ...] | None = None
    """The case's outputs in its baseline entry, in sample order (checks that compare with the
    baseline, such as ``similar: {to: baseline}``); None when the case has no entry yet."""
    request: ModelRequest | None = None
    """The prompt's rendered request (a judge may show the judge model its input); set when a
    check builds its calls, None for a flow."""


CheckFn = Callable[[SampleContext], Verdict]
"""A prepared check: its argument was validated at collection time."""

Job = tuple[ModelRequest, int]
"""One model call: a request and its sample index (part of the cache key)."""


@dataclass(frozen=True)
class ModelCheck:
    """A check that asks models about a sample's output (a judge, an embedding, a plugin's).

    It never calls a model itself: the run makes its calls in the call phase, as soon as the
    output exists, through the same cache, retries, concurrency and progress as the prompt's
    own calls, and the item only judges their answers.
    """

    calls: int
    """How many calls it makes per sample, known at collection time: the plan line and
    --promptcheck-max-calls count them before any output exists."""
    requests: Callable[[SampleContext], Sequence[Job]]
    """The calls for one sample's output, at most ``calls`` of them. Identical calls (the same
    request and index) are made once per run, whichever sample or case asks."""
    judge: Callable[[SampleContext, Sequence[Completion]], Verdict]
    """The verdict from the answers, in the order of ``requests``."""
    models: tuple[str, ...] = ()
    """The model ids it calls, checked at collection time like a prompt's own model."""
    identity: Any = None
    """What makes its verdicts comparable across runs (a judge's model, rubric and template
    version), as JSON data; when set, a baseline records it and a change is `judge changed`."""


Check = CheckFn | ModelCheck
"""What a check factory returns: a plain check, or one that asks models."""

CheckFactory = Callable[[Any, Path], Check]
"""Prepares a check from its argument and the prompt file's folder; raises CheckArgError."""


def verdict(passed: bool, reason: str) -> Verdict:
    """A judged verdict scoring 1 when it passes, else 0."""
    return Verdict(passed, 1.0 if passed else 0.0, reason)


def unevaluated(reason: str) -> Verdict:
    """The check could not judge this sample: a failure that negation does not flip."""
    return Verdict(False, 0.0, reason, evaluated=False)
