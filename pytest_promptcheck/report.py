"""Text for people: an item's failure report and the run's terminal summary."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_promptcheck.records import Completion
from pytest_promptcheck.scoring import CaseOutcome, SampleResult
from pytest_promptcheck.spec import Case, PromptSpec

PROPERTY_PREFIX = "promptcheck_"


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
    lines = [f"{indent}output  {quote(sample.completion.text)}"]
    if sample.format_error is not None:
        lines.append(f"{indent}format  FAIL  {sample.format_error}")
    for check in sample.checks:
        mark = "ok  " if check.verdict.passed else "FAIL"
        weight = (
            f"  (weight {check.weight:g}, score {check.verdict.score:.2f})"
            if check.weight != 1
            else ""
        )
        lines.append(f"{indent}check   {mark}  {check.verdict.reason}{weight}")
    return lines


def _sample_block(sample: SampleResult) -> list[str]:
    mark = "ok  " if sample.passed else "FAIL"
    usage = _usage(sample.completion)
    head = f"  sample {sample.index + 1}  {mark}  score {sample.score:.2f}  ({usage})"
    return [head, *_sample_detail(sample, indent="    ")]


def item_properties(spec: PromptSpec, case: Case, model: str) -> list[tuple[str, Any]]:
    return [
        ("promptcheck_prompt", spec.name),
        ("promptcheck_case", case.id),
        ("promptcheck_model", model),
        ("promptcheck_fingerprint", spec.fingerprint),
        ("promptcheck_version", spec.version or ""),
    ]


def outcome_properties(outcome: CaseOutcome) -> list[tuple[str, Any]]:
    completions = [s.completion for s in outcome.samples]
    return [
        ("promptcheck_model_reported", completions[0].model_reported),
        ("promptcheck_score", round(outcome.score, 4)),
        ("promptcheck_pass_rate", round(outcome.pass_rate, 4)),
        ("promptcheck_samples", len(completions)),
        ("promptcheck_cached", sum(c.cached for c in completions)),
        ("promptcheck_tokens", sum(c.tokens for c in completions)),
        ("promptcheck_cost_usd", _total_cost(completions)),
        ("promptcheck_latency_ms", [round(c.latency_ms, 1) for c in completions]),
    ]


def _total_cost(completions: list[Completion]) -> float | None:
    costs = [c.cost_usd for c in completions]
    return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


@dataclass
class _Row:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    live: int = 0
    cached: int = 0
    tokens: int = 0
    cost: float | None = 0.0
    latencies: list[float] = field(default_factory=list)


@dataclass
class RunSummary:
    """Counts per prompt and model, built from test reports so it also works under xdist."""

    rows: dict[tuple[str, str], _Row] = field(default_factory=dict)

    def add(self, properties: dict[str, Any], outcome: str) -> None:
        row = self.rows.setdefault(
            (properties["promptcheck_prompt"], properties["promptcheck_model"]), _Row()
        )
        if outcome == "error":
            row.errors += 1
            return
        row.passed += outcome == "passed"
        row.failed += outcome == "failed"
        samples = int(properties.get("promptcheck_samples", 0))
        cached = int(properties.get("promptcheck_cached", 0))
        row.cached += cached
        row.live += samples - cached
        row.tokens += int(properties.get("promptcheck_tokens", 0))
        cost = properties.get("promptcheck_cost_usd")
        row.cost = None if cost is None or row.cost is None else row.cost + float(cost)
        row.latencies += [float(v) for v in properties.get("promptcheck_latency_ms", [])]

    def lines(self) -> list[str]:
        if not self.rows:
            return []
        table = [
            (
                "prompt",
                "model",
                "passed",
                "failed",
                "errors",
                "live",
                "cached",
                "tokens",
                "cost $",
                "p50 ms",
                "p95 ms",
            )
        ]
        for (prompt, model), row in sorted(self.rows.items()):
            table.append(
                (
                    prompt,
                    model,
                    str(row.passed),
                    str(row.failed),
                    str(row.errors),
                    str(row.live),
                    str(row.cached),
                    str(row.tokens),
                    _money(row.cost),
                    _ms(percentile(row.latencies, 50)),
                    _ms(percentile(row.latencies, 95)),
                )
            )
        return [*_align(table), self._totals()]

    def _totals(self) -> str:
        rows = self.rows.values()
        live, cached = sum(r.live for r in rows), sum(r.cached for r in rows)
        return (
            f"{live + cached} samples: {live} live calls, {cached} from cache "
            "(live latency is measured now; cached latency is the recorded one)"
        )


def _money(cost: float | None) -> str:
    return "?" if cost is None else f"{cost:.4f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _align(table: Iterable[tuple[str, ...]]) -> list[str]:
    rows = list(table)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
