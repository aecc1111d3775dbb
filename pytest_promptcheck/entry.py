"""A case's result as its baseline records it: typed, in the shape of the baseline file.

``to_json`` gives exactly the data the file holds (the file is written with sorted keys and
indent 2, so the same results write the same bytes); ``from_json`` reads it back and names the
first field that is missing or of the wrong type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any, NamedTuple

from pytest_promptcheck.canonical import canonical_json

PASSED = "passed"
FAILED = "failed"


class EntryError(ValueError):
    """A recorded entry lacks a field or holds a value of the wrong type (``field`` says which)."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(f"'{field}' must be {expected}")
        self.field = field


def field_values(data: Any) -> dict[str, Any]:
    """A dataclass's fields by name, one level deep (``vars`` needs a ``__dict__``; these use
    slots, since a large suite holds one record per item)."""
    return {name: getattr(data, name) for name in _field_names(data.__class__)}


@cache
def _field_names(kind: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


class Tally(NamedTuple):
    """A case's counts and verdict: what the summary needs, without the samples (a named
    tuple: every item makes one)."""

    passed: int
    n: int
    verdict: str
    score: float

    @property
    def succeeded(self) -> bool:
        return self.verdict == PASSED

    @property
    def sampled(self) -> bool:
        """A case of several samples is judged by its pass rate, not by one output."""
        return self.n > 1

    @property
    def rate(self) -> float:
        return self.passed / self.n if self.n else 0.0


@dataclass(frozen=True, slots=True)
class CheckScore:
    check: str
    passed: bool
    score: float
    reason: str | None = None
    """Kept for checks that ask a model (a judge's verdicts and reasoning); written only then."""

    def to_json(self) -> dict[str, Any]:
        data = field_values(self)
        if data["reason"] is None:  # baselines without such checks stay byte-identical
            del data["reason"]
        return data


@dataclass(frozen=True, slots=True)
class SampleRecord:
    output: str
    passed: bool
    score: float
    format_error: str | None
    checks: tuple[CheckScore, ...]
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    latency_ms: float
    tool_calls: tuple[dict[str, Any], ...] = ()
    """``{name, arguments}`` in call order, arguments parsed (tools.call_records)."""
    trace: tuple[Mapping[str, Any], ...] = ()
    """A flow sample's inner calls as ``TraceStep.to_json`` writes them (none for a prompt)."""
    turns: tuple[str, ...] = ()
    """A multi-turn case's replies, every turn in order (``output`` is the last one)."""
    truncated: bool = False
    """The reply stopped at its token limit (``max_tokens``)."""

    def to_json(self) -> dict[str, Any]:
        data = {**field_values(self), "checks": [check.to_json() for check in self.checks]}
        # absent when empty: baselines without tools, flows or turns stay byte-identical
        for name in ("tool_calls", "trace", "turns"):
            if data[name]:
                data[name] = [dict(i) if isinstance(i, Mapping) else i for i in data[name]]
            else:
                del data[name]
        if not self.truncated:  # as above: only a cut reply says so
            del data["truncated"]
        return data

    @property
    def conversation(self) -> str:
        """The output, or with turns every reply, labelled by turn."""
        if not self.turns:
            return self.output
        return "\n".join(f"[turn {k}] {reply}" for k, reply in enumerate(self.turns, 1))

    @property
    def answer(self) -> str:
        """What drift compares: the conversation, and the tool calls when there are any."""
        if not self.tool_calls:
            return self.conversation
        return self.conversation + "\n" + canonical_json(list(self.tool_calls))

    @classmethod
    def from_json(cls, data: Any, where: str) -> SampleRecord:
        read = Reader(data, where)
        return cls(
            output=read.text("output"),
            passed=read.flag("passed"),
            score=read.number("score"),
            format_error=read.optional_text("format_error"),
            checks=tuple(
                _check(c, f"{where}.checks[{i}]") for i, c in enumerate(read.items("checks"))
            ),
            tokens_in=read.integer("tokens_in"),
            tokens_out=read.integer("tokens_out"),
            cost_usd=read.optional_number("cost_usd"),
            latency_ms=read.number("latency_ms"),
            tool_calls=tuple(
                _tool_call(c, f"{where}.tool_calls[{i}]")
                for i, c in enumerate(read.items("tool_calls") if "tool_calls" in read.data else [])
            ),
            trace=tuple(read.items("trace")) if "trace" in read.data else (),
            turns=tuple(read.text_items("turns")) if "turns" in read.data else (),
            truncated=read.flag("truncated") if "truncated" in read.data else False,
        )


def _tool_call(data: Any, where: str) -> dict[str, Any]:
    read = Reader(data, where)
    read.text("name")
    if "arguments" not in read.data:
        raise EntryError(f"{where}.arguments", "present")
    return {"name": read.data["name"], "arguments": read.data["arguments"]}


def _judge(data: Any, index: int) -> Mapping[str, Any]:
    read = Reader(data, f"judges[{index}]")
    return read.data


def _check(data: Any, where: str) -> CheckScore:
    read = Reader(data, where)
    reason = read.optional_text("reason") if "reason" in read.data else None
    return CheckScore(read.text("check"), read.flag("passed"), read.number("score"), reason)


@dataclass(frozen=True, slots=True)
class PromptStamp:
    """What identifies the prompt: a change of ``request`` is `prompt changed`."""

    fingerprint: str
    version: str | None
    request: str
    flow: str | None = None
    """A flow case's code: sha256 of the flow module's source (a change is `flow changed`)."""


@dataclass(frozen=True, slots=True)
class ModelStamp:
    requested: str
    reported: str | None
    system_fingerprint: str | None


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    """One case's recorded result: the request's fingerprints, every sample and the totals."""

    prompt: PromptStamp
    model: ModelStamp
    params: Mapping[str, Any]
    """Plain JSON data (lists, not tuples), as the file holds it."""
    checks: str
    """The fingerprint of the checks, threshold and min_pass_rate."""
    samples: tuple[SampleRecord, ...]
    passed: int
    n: int
    verdict: str
    score: float
    tokens: int
    cost_usd: float | None
    latency_ms: float
    recorded_at: str | None = None
    """Set when the entry is written to a file; an unchanged entry keeps its time."""
    judges: tuple[Mapping[str, Any], ...] = ()
    """Each judge's identity (model, rubric, template version): a change is `judge changed`.
    Written only when the case has a judge."""

    @property
    def tally(self) -> Tally:
        return Tally(self.passed, self.n, self.verdict, self.score)

    @property
    def outputs(self) -> list[str]:
        """Every sample's output (with turns, its whole conversation), in sample order."""
        return [sample.conversation for sample in self.samples]

    @property
    def answers(self) -> list[str]:
        """Every sample's output with its tool calls, in sample order: what drift compares."""
        return [sample.answer for sample in self.samples]

    def stamped(self, recorded_at: str | None) -> BaselineEntry:
        return replace(self, recorded_at=recorded_at)

    def to_json(self) -> dict[str, Any]:
        prompt = field_values(self.prompt)
        if prompt["flow"] is None:  # written only for flows
            del prompt["flow"]
        data = {
            "prompt": prompt,
            "model": field_values(self.model),
            "params": dict(self.params),
            "checks": self.checks,
            "samples": [sample.to_json() for sample in self.samples],
            "passed": self.passed,
            "n": self.n,
            "verdict": self.verdict,
            "score": self.score,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
        }
        if self.recorded_at is not None:
            data["recorded_at"] = self.recorded_at
        if self.judges:
            data["judges"] = [dict(judge) for judge in self.judges]
        return data

    @classmethod
    def from_json(cls, data: Any) -> BaselineEntry:
        """Raises EntryError naming the first field that is missing or of the wrong type."""
        read = Reader(data, "")
        prompt, model = (
            Reader(read.mapping("prompt"), "prompt"),
            Reader(read.mapping("model"), "model"),
        )
        samples = read.items("samples")
        passed, n = read.integer("passed"), read.integer("n")
        # the counts drive the exact p-values (work grows with n): bound them by the file
        if n != len(samples):
            raise EntryError("n", f"the number of samples ({len(samples)})")
        if not 0 <= passed <= n:
            raise EntryError("passed", f"between 0 and n ({n})")
        return cls(
            prompt=PromptStamp(
                prompt.text("fingerprint"),
                prompt.optional_text("version"),
                prompt.text("request"),
                prompt.optional_text("flow") if "flow" in prompt.data else None,
            ),
            model=ModelStamp(
                model.text("requested"),
                model.optional_text("reported"),
                model.optional_text("system_fingerprint"),
            ),
            params=read.mapping("params"),
            checks=read.text("checks"),
            samples=tuple(
                SampleRecord.from_json(s, f"samples[{i}]") for i, s in enumerate(samples)
            ),
            passed=passed,
            n=n,
            verdict=read.choice("verdict", (PASSED, FAILED)),
            score=read.number("score"),
            tokens=read.integer("tokens"),
            cost_usd=read.optional_number("cost_usd"),
            latency_ms=read.number("latency_ms"),
            recorded_at=read.optional_text("recorded_at") if "recorded_at" in read.data else None,
            judges=tuple(_judge(j, i) for i, j in enumerate(read.items("judges")))
            if "judges" in read.data
            else (),
        )


class Reader:
    """Typed reads of a JSON object's fields; a failed read names the field's path."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise EntryError(where or "the entry", "an object")
        self.data: dict[str, Any] = data
        self.where = where

    def _get(self, key: str, kinds: tuple[type, ...], expected: str) -> Any:
        value = self.data.get(key)
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if key not in self.data or not isinstance(value, kinds) or wrong_bool:
            raise EntryError(f"{self.where}.{key}" if self.where else key, expected)
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, (str,), "a string"))

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, (str, type(None)), "a string or null")
        return None if value is None else str(value)

    def integer(self, key: str) -> int:
        return int(self._get(key, (int,), "an integer"))

    def flag(self, key: str) -> bool:
        return bool(self._get(key, (bool,), "true or false"))

    def number(self, key: str) -> float:
        value: float = self._get(key, (int, float), "a number")
        return self._finite(key, value, "a finite number")

    def optional_number(self, key: str) -> float | None:
        value: float | None = self._get(key, (int, float, type(None)), "a number or null")
        return None if value is None else self._finite(key, value, "a finite number or null")

    def _finite(self, key: str, value: float, expected: str) -> float:
        # Python's json reads NaN and Infinity; no score, cost or latency is one, and the
        # .html report (strict JSON) could not be written with it
        if isinstance(value, float) and not math.isfinite(value):
            raise EntryError(f"{self.where}.{key}" if self.where else key, expected)
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value: dict[str, Any] = self._get(key, (dict,), "an object")
        return value

    def items(self, key: str) -> list[Any]:
        value: list[Any] = self._get(key, (list,), "a list")
        return value

    def text_items(self, key: str) -> list[str]:
        values = self.items(key)
        if not all(isinstance(value, str) for value in values):
            raise EntryError(f"{self.where}.{key}" if self.where else key, "a list of strings")
        return values

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in choices:
            raise EntryError(key, " or ".join(f"'{c}'" for c in choices))
        return value
