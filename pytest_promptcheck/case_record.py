"""A case's result as the end of the run sees it: the one payload that crosses from xdist
workers, read by the terminal summary, the baseline update and the report files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_promptcheck.entry import BaselineEntry, Tally, field_values
from pytest_promptcheck.records import Completion, total_cost


@dataclass(frozen=True, slots=True)
class Usage:
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
        return cls(
            samples=samples,
            calls=len(completions),
            cached=sum(c.cached for c in completions),
            tokens=sum(c.tokens for c in completions),
            cost_usd=total_cost(c.cost_usd for c in completions),
            latencies_ms=tuple(round(c.latency_ms, 1) for c in completions),
            model_reported=completions[0].model_reported if completions else "",
        )


@dataclass(frozen=True, slots=True)
class CaseRecord:
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
        data = field_values(self)
        data["unused"] = list(self.unused)
        data["tally"] = _values(self.tally)
        data["baseline_tally"] = _maybe(self.baseline_tally, _values)
        usage = self.usage
        data["usage"] = [*_values(usage)[:-2], list(usage.latencies_ms), usage.model_reported]
        data["entry"] = _maybe(self.entry, BaselineEntry.to_json)
        data["baseline_entry"] = _maybe(self.baseline_entry, BaselineEntry.to_json)
        data["agreements"] = list(self.agreements)
        return data

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


def _values(data: Any) -> list[Any]:
    return list(field_values(data).values())


def _maybe(value: Any, convert: Any) -> Any:
    return None if value is None else convert(value)
