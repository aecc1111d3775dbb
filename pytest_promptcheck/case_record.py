"""A case's result as the end of the run sees it: plain data that crosses from xdist workers."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

Entry = dict[str, Any]
BRIEF_FIELDS = ("n", "passed", "verdict", "score")


def outputs_of(entry: Entry) -> list[str]:
    """Every sample's output, in sample order."""
    return [str(sample.get("output", "")) for sample in entry["samples"]]


def brief(entry: Entry) -> Entry:
    """What the terminal summary needs of an entry: its counts and verdict."""
    return {key: entry[key] for key in BRIEF_FIELDS if key in entry}


@dataclass(frozen=True)
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
    entry: Entry
    baseline_entry: Entry | None
    drift: dict[str, Any] | None

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
        return bool(self.entry["verdict"] == "passed")

    def to_json(self) -> dict[str, Any]:
        """Plain data for the test report (entries are plain JSON data already)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["unused"] = list(self.unused)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseRecord:
        return cls(**{**data, "unused": tuple(data["unused"])})
