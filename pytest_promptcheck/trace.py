"""A flow sample's trace: every inner model call in the order the flow made it, and the judged
result synthesized from the flow's output and its calls (budgets add up over the trace)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.records import Completion, total_cost

if TYPE_CHECKING:
    from pytest_promptcheck.entry import BaselineEntry


@dataclass(frozen=True)
class TraceStep:
    """One inner call: ``name`` is the step's prompt name, ``chat``, ``complete``, or for a
    call captured from the application's SDK e.g. ``sdk POST /v1/chat/completions``."""

    name: str
    model: str
    request: str
    """The request's fingerprint (sha256 of its canonical JSON, occurrence included)."""
    completion: Completion
    prompt: str | None = None
    """The step prompt file's fingerprint (a change is `prompt changed (step <name>)`)."""

    def to_json(self, *, cached: bool = True) -> dict[str, Any]:
        """As the baseline and reports hold it; ``cached`` off for the baseline, where it would
        flip between the recording run and the next."""
        done = self.completion
        data: dict[str, Any] = {
            "step": self.name,
            "model": self.model,
            "request": self.request,
            "output": done.text,
            "tokens_in": done.tokens_in,
            "tokens_out": done.tokens_out,
            "cost_usd": done.cost_usd,
            "latency_ms": round(done.latency_ms, 1),
        }
        if self.prompt is not None:
            data["prompt"] = self.prompt
        if done.tool_calls:
            data["tool_calls"] = [[c.name, c.arguments] for c in done.tool_calls]
        if cached:
            data["cached"] = done.cached
        return data


Trace = tuple[TraceStep, ...]


def output_text(value: Any) -> str:
    """The flow's return as the output checks judge: a str as it is, else its JSON.
    Raises TypeError for a value JSON cannot hold."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def synthesized(output: str, trace: Sequence[TraceStep]) -> Completion:
    """The judged result: the flow's output with tokens, cost and latency summed over its calls
    and every call's tool calls in order; cached when every call was."""
    calls = [step.completion for step in trace]
    return Completion(
        text=output,
        model_reported=calls[-1].model_reported if calls else "",
        tokens_in=sum(c.tokens_in for c in calls),
        tokens_out=sum(c.tokens_out for c in calls),
        latency_ms=sum(c.latency_ms for c in calls),
        cost_usd=total_cost(c.cost_usd for c in calls),
        tool_calls=tuple(call for c in calls for call in c.tool_calls),
        cached=bool(calls) and all(c.cached for c in calls),
    )


def trace_lines(trace: Sequence[TraceStep], indent: str) -> list[str]:
    """The trace for people, one line per call."""
    lines = [f"{indent}trace   {len(trace)} model calls"]
    for number, step in enumerate(trace, start=1):
        done = step.completion
        source = "cached" if done.cached else "live"
        lines.append(
            f"{indent}  {number}. {step.name} [{step.model}] {source}, {done.latency_ms:.0f} ms, "
            f"{done.tokens} tokens: {_quote(done.text, 60)}"
        )
    return lines


def moved_lines(baseline: BaselineEntry, current: BaselineEntry) -> list[str]:
    """Which step of a flow moved first against the baseline's trace, with both outputs."""
    if not (baseline.samples and current.samples):
        return []
    before, after = baseline.samples[0].trace, current.samples[0].trace
    index = first_moved(before, after)
    if index is None or not (before or after):
        return []
    old = before[index] if index < len(before) else {}
    new = after[index] if index < len(after) else {}
    name = new.get("step") or old.get("step")
    return [
        f"  step    {index + 1} ({name}) is the first whose output differs from the baseline's",
        f"    baseline  {_quote(str(old.get('output', '(no such step)')), 80)}",
        f"    now       {_quote(str(new.get('output', '(no such step)')), 80)}",
    ]


def _quote(text: str, limit: int) -> str:
    shown = json.dumps(text, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[: limit - 2] + '…"'


def first_moved(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> int | None:
    """The index of the first step whose name or output differs between two recorded traces."""
    for index, (old, new) in enumerate(zip(before, after, strict=False)):
        if (old.get("step"), old.get("output")) != (new.get("step"), new.get("output")):
            return index
    if len(before) != len(after):
        return min(len(before), len(after))
    return None
