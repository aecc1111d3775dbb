"""A case's result as the end of the run sees it: the one payload that crosses from xdist
workers, read by the terminal summary, the baseline update and the report files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from pytest_promptcheck.entry import BaselineEntry, Tally
from pytest_promptcheck.records import Completion, add_cost


class Usage(NamedTuple):
    """What a case's model calls took: how many, live and cached, tokens, cost and latencies.
    A sample is one call, or with turns one per turn, or for a flow one per inner call."""

    samples: int
    """The case's judged samples."""
    calls: int
    """The model calls that made them (not the checks' own calls)."""
    cached: int
    """Calls answered from the cache."""
    tokens: int
    cost_usd: float | None
    """Unknown when any call's cost is unknown."""
    latencies_ms: tuple[float, ...]
    """One per call."""
    model_reported: str

    @property
    def live(self) -> int:
        return self.calls - self.cached

    @classmethod
    def of(cls, samples: int, completions: Sequence[Completion]) -> Usage:
        # one pass, not one per figure: every item of a run makes its usage
        cached = tokens = 0
        cost: float | None = 0  # as sum() starts, so a record's figures stay as they were
        latencies = []
        for c in completions:
            cached += c.cached
            tokens += c.tokens_in + c.tokens_out
            cost = add_cost(cost, c.cost_usd)
            latencies.append(round(c.latency_ms, 1))
        reported = completions[0].model_reported if completions else ""
        return cls(samples, len(completions), cached, tokens, cost, tuple(latencies), reported)


class CaseRecord(NamedTuple):
    """A named tuple, not a frozen dataclass: every item makes one, and setting its fields one
    by one cost more than the rest of the record (records are immutable either way)."""

    prompt: str
    file: str
    baseline: str
    """The baseline file of the prompt."""
    case: str
    model: str
    reference: bool
    """Whether an update records this model's result (the first of several models)."""
    file_items: int
    """How many items the prompt file has: an update of all of them removes unused entries."""
    unused: tuple[str, ...]
    tally: Tally
    baseline_tally: Tally | None
    usage: Usage
    entry: BaselineEntry | None
    """The whole result (every sample's output), only when an update or a report file needs it:
    a large suite then carries one small record per item."""
    baseline_entry: BaselineEntry | None
    """The whole baseline entry, on the same condition."""
    drift: dict[str, Any] | None
    agreements: tuple[dict[str, Any], ...] = ()
    """How the case's judges with labels agree with people (``Agreement.to_json``)."""

    @property
    def label(self) -> str:
        return f"{self.prompt}::{self.case}"

    @property
    def effect(self) -> str | None:
        return None if self.drift is None else str(self.drift["effect"])

    @property
    def cause(self) -> str:
        return "no change" if self.drift is None else str(self.drift["cause_text"])

    @property
    def unexplained(self) -> bool:
        return self.drift is not None and bool(self.drift["unexplained"])

    @property
    def passed(self) -> bool:
        return self.tally.succeeded

    def to_json(self) -> dict[str, Any]:
        """Plain data for the test report, which xdist carries to the controller. The tallies
        and the usage go as lists in field order: one record per item stays small."""
        # written out in field order (every item makes one; field_values is a loop of getattr)
        usage = self.usage
        return {
            "prompt": self.prompt,
            "file": self.file,
            "baseline": self.baseline,
            "case": self.case,
            "model": self.model,
            "reference": self.reference,
            "file_items": self.file_items,
            "unused": list(self.unused),
            "tally": _tally(self.tally),
            "baseline_tally": _maybe(self.baseline_tally, _tally),
            "usage": [
                usage.samples,
                usage.calls,
                usage.cached,
                usage.tokens,
                usage.cost_usd,
                list(usage.latencies_ms),
                usage.model_reported,
            ],
            "entry": _maybe(self.entry, BaselineEntry.to_json),
            "baseline_entry": _maybe(self.baseline_entry, BaselineEntry.to_json),
            "drift": self.drift,
            "agreements": list(self.agreements),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseRecord:
        samples, calls, cached, tokens, cost, latencies, reported = data["usage"]
        return cls(
            **{
                **data,
                "unused": tuple(data["unused"]),
                "tally": Tally(*data["tally"]),
                "baseline_tally": _maybe(data["baseline_tally"], lambda t: Tally(*t)),
                "usage": Usage(samples, calls, cached, tokens, cost, tuple(latencies), reported),
                "entry": _maybe(data["entry"], BaselineEntry.from_json),
                "baseline_entry": _maybe(data["baseline_entry"], BaselineEntry.from_json),
                "agreements": tuple(data.get("agreements", ())),
            }
        )


def _tally(tally: Tally) -> list[Any]:
    return [tally.passed, tally.n, tally.verdict, tally.score]


def _maybe(value: Any, convert: Any) -> Any:
    return None if value is None else convert(value)
