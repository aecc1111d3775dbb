"""``labels:`` of a judge: outputs people labelled, one JSON object a line, which the judge also
judges so that the run can say how well it agrees with them (agreement.py).

A line is ``{"output": "...", "pass": true, "vars": {...}}`` (``"score": N`` instead of
``pass`` for a scale). Its calls are the judge's own requests for that output; they are known
at collection, so they are planned, cached and counted like any call, and made once per run
whichever cases use the judge.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pytest_promptcheck.agreement import Agreement, cohen_kappa, confusion, self_agreement
from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.checks.api import Job, ModelCheck, SampleContext
from pytest_promptcheck.checks.judge_verdict import SCALES, JudgeVote, parse_verdict
from pytest_promptcheck.entry import field_values
from pytest_promptcheck.errors import CheckArgError, PromptcheckError
from pytest_promptcheck.records import Completion
from pytest_promptcheck.text_files import read_text

MAX_LABELS = 1000
"""Each label costs the judge's calls: a larger set is a benchmark, not a test run."""
_KEYS = {"output", "pass", "score", "vars"}


@dataclass(frozen=True)
class Label:
    output: str
    verdict: int
    """People's verdict: 1/0 for pass/fail, else the score on the scale."""
    vars: dict[str, Any]


@dataclass(frozen=True)
class JudgeLabels:
    """A judge and its labelled outputs: their calls, and the agreement from their answers."""

    name: str
    """The labels file as people know it (relative to the rootdir)."""
    model: str
    scale: str
    min: float
    labels: tuple[Label, ...]
    jobs: tuple[tuple[Job, ...], ...]
    """Per label, the judge's calls about its output (one per vote)."""

    @cached_property
    def key(self) -> str:
        """The same judge on the same labels is judged once, whichever cases use it."""
        return sha256_of([[r.payload(), s] for jobs in self.jobs for r, s in jobs])

    def agreement(self, answers: Sequence[Sequence[Completion]]) -> Agreement:
        votes = [[parse_verdict(a.text, self.scale, self.model) for a in got] for got in answers]
        span = SCALES[self.scale]
        low, high = span or (0, 1)
        judged = [_judged(v, low, high) for v in votes]
        people = [label.verdict for label in self.labels]
        return Agreement(
            judge=self.model,
            labels=self.name,
            n=len(self.labels),
            kappa=cohen_kappa(people, judged, range(low, high + 1), weighted=span is not None),
            weighted=span is not None,
            confusion=confusion(
                [self._passes(p, low, high) for p in people],
                [self._mean_passes(v) for v in votes],
            ),
            self_agreement=self_agreement([[v.raw for v in item] for item in votes]),
        )

    def _passes(self, verdict: int, low: int, high: int) -> bool:
        return (verdict - low) / (high - low) + 1e-9 >= self.min

    def _mean_passes(self, votes: Sequence[JudgeVote]) -> bool:
        return sum(v.score for v in votes) / len(votes) + 1e-9 >= self.min


def _judged(votes: Sequence[JudgeVote], low: int, high: int) -> int:
    """The judge's category for one output: its votes' mean, rounded to the scale."""
    mean = sum(v.score for v in votes) / len(votes)
    return low + round(mean * (high - low))


@dataclass(frozen=True)
class LabelledCheck(ModelCheck):
    """A judge check with labels: the session plans and makes their calls once per run."""

    labels: JudgeLabels | None = None


def load_labels(path: Path, name: str, scale: str) -> tuple[Label, ...]:
    """The labels of a file; a bad line is one CheckArgError naming ``file:line``."""
    try:
        text = read_text(path)
    except PromptcheckError as exc:
        raise CheckArgError(f"labels: {exc}") from None
    labels = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            labels.append(_label(line, f"{name}:{number}", scale))
        if len(labels) > MAX_LABELS:
            raise CheckArgError(
                f"labels: {name} holds more than {MAX_LABELS} labels",
                hint="keep a sample of them; agreement on a few hundred is already telling",
            )
    if not labels:
        raise CheckArgError(f"labels: {name} holds no labels", hint=_HINT)
    return tuple(labels)


_HINT = 'one JSON object a line: {"output": "...", "pass": true, "vars": {...}}'


def _label(line: str, where: str, scale: str) -> Label:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CheckArgError(f"labels: {where}: not JSON ({exc.msg})", hint=_HINT) from None
    except RecursionError:  # a line nested deeper than the parser goes
        raise CheckArgError(f"labels: {where}: not JSON (nested too deep)", hint=_HINT) from None
    if not isinstance(data, dict) or not isinstance(data.get("output"), str):
        raise CheckArgError(f'labels: {where}: needs "output", a string', hint=_HINT)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise CheckArgError(f"labels: {where}: unknown key '{unknown[0]}'", hint=_HINT)
    case_vars = data.get("vars", {})
    if not isinstance(case_vars, dict):
        raise CheckArgError(f'labels: {where}: "vars" must be an object', hint=_HINT)
    return Label(data["output"], _verdict(data, where, scale), case_vars)


def _verdict(data: dict[str, Any], where: str, scale: str) -> int:
    span = SCALES[scale]
    if span is None:
        if not isinstance(data.get("pass"), bool) or "score" in data:
            raise CheckArgError(f'labels: {where}: needs "pass": true or false', hint=_HINT)
        return int(data["pass"])
    low, high = span
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise CheckArgError(
            f'labels: {where}: needs "score", a whole number from {low} to {high} '
            f"(the judge's scale {scale})",
            hint='e.g. {"output": "...", "score": 4}',
        )
    return score


def label_context(label: Label) -> SampleContext:
    """A labelled output as the judge's request builder sees a sample."""
    return SampleContext(label.output, Completion(label.output, ""), vars=label.vars)


def labelled(check: ModelCheck, path: Path, root: Path, *, scale: str, min: float) -> LabelledCheck:
    """``check`` with the labels of ``path``, their calls built by its own request builder."""
    name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    labels = load_labels(path, name, scale)
    jobs = []
    for number, label in enumerate(labels, 1):
        try:
            jobs.append(tuple(check.requests(label_context(label))))
        except PromptcheckError as exc:  # e.g. its vars lack what the reference template reads
            raise CheckArgError(f"labels: {name}: label {number}: {exc}") from None
    model = check.models[0]
    judge_labels = JudgeLabels(name, model, scale, min, labels, tuple(jobs))
    return LabelledCheck(**{**field_values(check), "labels": judge_labels})
