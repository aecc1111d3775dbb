"""Text for people: an item's failure report (the run's summary is ``summary``)."""

from __future__ import annotations

import difflib
import json
import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.records import Completion
from pytest_promptcheck.scoring import CaseOutcome, CheckResult, SampleResult
from pytest_promptcheck.spec import Case, PromptSpec
from pytest_promptcheck.tools import called_list
from pytest_promptcheck.trace import moved_lines, trace_lines

if TYPE_CHECKING:
    from pytest_promptcheck.drift import Drift

DIFF_LINES = 20
OUTPUT_KINDS = 4


def quote(text: str, limit: int = 100) -> str:
    shown = json.dumps(text, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[: limit - 2] + '…"'


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, as pytest shows node ids."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def header_lines(spec: PromptSpec, case: Case, model: str) -> list[str]:
    version = f" v{spec.version}" if spec.version else ""
    where = f"{display_path(case.source)}:{case.line}" if case.line else display_path(case.source)
    return [
        f"  case    {where}   prompt {spec.name}{version} (fp {spec.fingerprint[:8]}…)",
        f"  model   {model}",
    ]


def failure_text(spec: PromptSpec, case: Case, model: str, outcome: CaseOutcome) -> str:
    lines = [_verdict(case, outcome), *header_lines(spec, case, model)]
    if len(outcome.samples) == 1:
        lines[-1] += f"  ({_usage(outcome.samples[0].completion)})"
        lines += _sample_detail(outcome.samples[0], indent="  ")
    else:
        for sample in outcome.samples:
            lines += _sample_block(sample)
    return "\n".join(lines)


def _verdict(case: Case, outcome: CaseOutcome) -> str:
    if len(outcome.samples) > 1:
        return (
            f"{case.id} failed: {outcome.passed_count} of {len(outcome.samples)} samples passed, "
            f"min_pass_rate {outcome.min_pass_rate:g} needs {_needed(outcome)}"
        )
    sample = outcome.samples[0]
    if sample.turns:
        return f"{case.id} failed: {_turn_verdict(sample, outcome.threshold)}"
    if sample.format_error is not None:
        return f"{case.id} failed: output format invalid"
    if outcome.threshold is not None:
        return f"{case.id} failed: score {sample.score:.2f} below threshold {outcome.threshold:g}"
    failed = sum(not c.verdict.passed for c in sample.checks)
    return f"{case.id} failed: {failed} of {len(sample.checks)} checks"


def _needed(outcome: CaseOutcome) -> int:
    return math.ceil(outcome.min_pass_rate * len(outcome.samples) - 1e-9)


def _usage(completion: Completion) -> str:
    source = "cached" if completion.cached else "live"
    reported = f"reported {completion.model_reported}, " if completion.model_reported else ""
    return f"{reported}{source}, {completion.latency_ms:.0f} ms, {completion.tokens} tokens"


def _sample_detail(sample: SampleResult, indent: str) -> list[str]:
    if sample.turns:
        return _conversation(sample, indent)
    lines = [f"{indent}output  {quote(sample.completion.text)}"]
    if sample.completion.truncated:
        lines.append(f"{indent}note    {_truncated_note(sample.completion)}")
    if sample.completion.tool_calls:
        lines.append(f"{indent}tools   {called_list(sample.completion.tool_calls)}")
    if sample.trace:
        lines += trace_lines(sample.trace, indent)
    if sample.format_error is not None:
        lines.append(f"{indent}format  FAIL  {sample.format_error}")
    lines += _check_lines(sample.checks, indent)
    return lines


def _truncated_note(completion: Completion) -> str:
    return (
        f"truncated: the reply stopped at its token limit (finish reason "
        f"{completion.finish_reason}); raise max_tokens in params if the cut matters"
    )


def _check_lines(checks: tuple[CheckResult, ...], indent: str) -> list[str]:
    lines = []
    for check in checks:
        mark = "ok  " if check.verdict.passed else "FAIL"
        weight = (
            f"  (weight {check.weight:g}, score {check.verdict.score:.2f})"
            if check.weight != 1
            else ""
        )
        lines.append(f"{indent}check   {mark}  {check.verdict.reason}{weight}")
    return lines


def _turn_verdict(sample: SampleResult, threshold: float | None) -> str:
    """Names the first turn that failed (DESIGN §2)."""
    count = len(sample.turns)
    failing = [k for k, turn in enumerate(sample.turns, 1) if not turn.passed]
    first = failing[0] if failing else count
    turn = sample.turns[first - 1]
    if turn.format_error is not None:
        return f"turn {first} of {count}: output format invalid"
    if threshold is not None:
        where = f", first failing turn {first} of {count}" if failing else ""
        return f"score {sample.score:.2f} below threshold {threshold:g}{where}"
    failed = sum(not c.verdict.passed for c in turn.checks)
    return f"turn {first} of {count} failed {failed} of {len(turn.checks)} checks"


def _conversation(sample: SampleResult, indent: str) -> list[str]:
    """The whole conversation, each turn's user text and reply (clipped) under its verdict."""
    lines = []
    for k, turn in enumerate(sample.turns, 1):
        mark = "ok  " if turn.passed else "FAIL"
        lines.append(f"{indent}turn {k}  {mark}  user  {quote(turn.user)}")
        inner = indent + "  "
        lines.append(f"{inner}reply   {quote(turn.completion.text)}")
        if turn.format_error is not None:
            lines.append(f"{inner}format  FAIL  {turn.format_error}")
        lines += _check_lines(turn.checks, inner)
    return lines


def _sample_block(sample: SampleResult) -> list[str]:
    mark = "ok  " if sample.passed else "FAIL"
    usage = _usage(sample.completion)
    head = f"  sample {sample.index + 1}  {mark}  score {sample.score:.2f}  ({usage})"
    return [head, *_sample_detail(sample, indent="    ")]


def gate_text(spec: PromptSpec, case: Case, model: str, drift_text: list[str]) -> str:
    """The failure report of a case that passes its checks but regressed against its baseline."""
    verdict = f"{case.id} regressed against its baseline (--promptcheck-drift=fail)"
    return "\n".join([verdict, *header_lines(spec, case, model), *drift_text])


def drift_lines(
    drift: Drift, baseline: BaselineEntry | None, current: BaselineEntry | None, accept: str
) -> list[str]:
    """The drift line, a diff of output against the baseline, and the command to accept it
    (``current`` is needed only with a baseline entry)."""
    lines = [f"  drift   {drift.line()}"]
    if baseline is not None and current is not None:
        recorded = baseline.recorded_at or "?"
        lines.append(f"  baseline recorded {recorded} with {baseline.model.requested}")
        lines += moved_lines(baseline, current)
        lines += _output_diff(baseline, current)
    lines.append(f"  accept  {accept}")
    return lines


def _output_diff(baseline: BaselineEntry, current: BaselineEntry) -> list[str]:
    before, after = baseline.answers, current.answers  # tool calls included
    if len(before) > 1 or len(after) > 1:
        return _output_counts(before, after)
    if before == after:
        return []
    old, new = "".join(before).splitlines(), "".join(after).splitlines()
    diff = list(difflib.unified_diff(old, new, "baseline", "now", lineterm=""))
    shown = diff[:DIFF_LINES]
    if len(diff) > DIFF_LINES:
        shown.append(f"... {len(diff) - DIFF_LINES} more diff lines")
    return ["  diff", *(f"    {line}" for line in shown)]


def _output_counts(before: list[str], after: list[str]) -> list[str]:
    """Samples have no order, so sampled cases compare how often each output came."""
    if sorted(before) == sorted(after):
        return []

    def shown(outputs: list[str]) -> str:
        common = Counter(outputs).most_common(OUTPUT_KINDS)
        rest = len(set(outputs)) - len(common)
        text = ", ".join(f"{quote(output, 40)} x{count}" for output, count in common)
        return text + (f", {rest} other outputs" if rest > 0 else "")

    return [f"  outputs baseline {shown(before)}", f"          now      {shown(after)}"]
