"""The run's terminal summary: counts per prompt and model, built from the case records."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_promptcheck.agreement import agreement_lines
from pytest_promptcheck.records import add_cost

if TYPE_CHECKING:
    from pytest_promptcheck.case_record import CaseRecord, Usage


@dataclass
class _Row:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    samples: int = 0
    live: int = 0
    cached: int = 0
    tokens: int = 0
    cost: float | None = 0.0
    latencies: list[float] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.passed += outcome == "passed"
        self.failed += outcome == "failed"

    def add(self, usage: Usage) -> None:
        self.samples += usage.samples
        self.live += usage.live
        self.cached += usage.cached
        self.tokens += usage.tokens
        self.cost = add_cost(self.cost, usage.cost_usd)
        self.latencies += usage.latencies_ms


@dataclass
class RunSummary:
    """Counts per prompt and model, built from the case records that test reports carry (so it
    also works under xdist)."""

    rows: dict[tuple[str, str], _Row] = field(default_factory=dict)
    records: list[CaseRecord] = field(default_factory=list)
    """Each case's record (result, baseline entry, drift), from its call-phase report."""
    errors: list[dict[str, str]] = field(default_factory=list)
    """Items whose model calls failed: node id and the error's first line."""
    drift_lines: list[str] = field(default_factory=list)
    end_lines: list[str] = field(default_factory=list)
    """What the end of the run did: baselines recorded, report files written."""

    def add_record(self, record: CaseRecord, outcome: str) -> None:
        """A case that ran; its outcome is the item's (a drift gate may fail a passing case)."""
        self.records.append(record)
        row = self._row(record.prompt, record.model)
        row.count(outcome)
        row.add(record.usage)

    def count(self, prompt: str, model: str, outcome: str) -> None:
        self._row(prompt, model).count(outcome)

    def add_error(self, prompt: str, model: str, node: str, error: str) -> None:
        """A case whose model calls failed in its setup: it has no record."""
        self._row(prompt, model).errors += 1
        self.errors.append({"node": node, "error": error})

    def _row(self, prompt: str, model: str) -> _Row:
        row = self.rows.get((prompt, model))
        if row is None:  # not setdefault: that would make a row for every case
            row = self.rows[prompt, model] = _Row()
        return row

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
        judges = agreement_lines(record.agreements for record in self.records)
        return [*align(table), self._totals(), *self.drift_lines, *judges, *self.end_lines]

    def _totals(self) -> str:
        rows = self.rows.values()
        samples = sum(r.samples for r in rows)
        live, cached = sum(r.live for r in rows), sum(r.cached for r in rows)
        # turns and flows make several calls per sample: then both counts are given
        calls = "" if live + cached == samples else f" from {live + cached} model calls"
        return (
            f"{samples} samples{calls}: {live} live calls, {cached} from cache "
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
