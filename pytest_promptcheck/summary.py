"""The run's terminal summary: counts per prompt and model, built from test reports."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


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
    records: list[dict[str, Any]] = field(default_factory=list)
    """Each case's record (result, baseline entry, drift), from its call-phase report."""
    errors: list[dict[str, str]] = field(default_factory=list)
    """Items whose model calls failed: node id and the error's first line."""
    drift_lines: list[str] = field(default_factory=list)
    end_lines: list[str] = field(default_factory=list)
    """What the end of the run did: baselines recorded, report files written."""

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
            return list(self.end_lines)
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
        return [*align(table), self._totals(), *self.drift_lines, *self.end_lines]

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


def align(table: Iterable[tuple[str, ...]]) -> list[str]:
    rows = list(table)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
