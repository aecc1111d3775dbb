"""Score a case: validate each sample's format, run its checks, and apply the pass rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from pytest_promptcheck.check_specs import CheckSpec
from pytest_promptcheck.checks.api import NOT_JSON, ModelCheck, SampleContext, Verdict
from pytest_promptcheck.checks.judge_verdict import JudgeVerdictError
from pytest_promptcheck.checks.output import output_json_text
from pytest_promptcheck.records import Completion
from pytest_promptcheck.schemas import first_schema_error
from pytest_promptcheck.spec import Case, PromptSpec
from pytest_promptcheck.trace import Trace
from pytest_promptcheck.turns import Turn

if TYPE_CHECKING:
    from pytest_promptcheck.schemas import Schema

Asked = Sequence[Completion] | str
"""What a model-calling check's calls answered for one sample, or why it could not ask."""


_NOTHING_ASKED: Mapping[tuple[int, int], Asked] = MappingProxyType({})


# CaseAnswers, CheckResult and CaseOutcome are named tuples, not frozen dataclasses: every item
# makes them, and a frozen dataclass sets its fields one object.__setattr__ at a time.


class CaseAnswers(NamedTuple):
    """Every model answer a case is scored from: its samples, and its checks' calls."""

    completions: tuple[Completion, ...]
    asked: Mapping[tuple[int, int], Asked] = _NOTHING_ASKED
    """By (sample index, check index): the answers of that check's calls about that sample."""
    traces: tuple[Trace, ...] = ()
    """A flow case's inner calls, by sample (empty for a prompt)."""
    turns: tuple[tuple[Completion, ...], ...] = ()
    """A multi-turn case's conversations: by sample, every turn's answer (the last is the
    sample's completion); empty for a case without turns."""


class CheckResult(NamedTuple):
    label: str
    weight: float
    verdict: Verdict
    asks: bool = False
    """The check asked a model (a judge): its baseline record keeps the reason."""


@dataclass(frozen=True)
class TurnResult:
    """One turn of a sample's conversation: what was said, answered, and its own checks'
    verdicts (the file's and the case's checks are the sample's, on the last turn)."""

    user: str
    completion: Completion
    format_error: str | None
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return self.format_error is None and all(c.verdict.passed for c in self.checks)


@dataclass(frozen=True)
class SampleResult:
    index: int
    completion: Completion
    format_error: str | None
    checks: tuple[CheckResult, ...]
    score: float
    passed: bool
    trace: Trace = ()
    """A flow sample's inner calls."""
    turns: tuple[TurnResult, ...] = ()

    @property
    def calls(self) -> tuple[Completion, ...]:
        """Every model answer the sample took: each turn's, each of a flow's inner calls, or
        its one completion."""
        if self.trace:
            return tuple(step.completion for step in self.trace)
        if not self.turns:  # the common case, read for every item's usage
            return (self.completion,)
        return tuple(turn.completion for turn in self.turns)


class CaseOutcome(NamedTuple):
    """Made by ``of``, which derives the figures once: an item, its record and its report all
    read them."""

    samples: tuple[SampleResult, ...]
    min_pass_rate: float
    threshold: float | None
    passed_count: int
    pass_rate: float
    passed: bool
    score: float

    @classmethod
    def of(
        cls, samples: tuple[SampleResult, ...], min_pass_rate: float, threshold: float | None
    ) -> CaseOutcome:
        passed_count = sum(s.passed for s in samples)
        pass_rate = passed_count / len(samples)
        passed = pass_rate + 1e-9 >= min_pass_rate
        score = sum(s.score for s in samples) / len(samples)
        return cls(samples, min_pass_rate, threshold, passed_count, pass_rate, passed, score)


def score_case(
    spec: PromptSpec,
    case: Case,
    answers: CaseAnswers,
    recorded: tuple[str, ...] | None = None,
) -> CaseOutcome:
    """``recorded``: the case's outputs in its baseline entry (see SampleContext.recorded)."""
    samples = tuple(
        score_sample(spec, case, answers, index, recorded)
        for index in range(len(answers.completions))
    )
    return CaseOutcome.of(samples, spec.min_pass_rate, case.threshold)


def score_sample(
    spec: PromptSpec,
    case: Case,
    answers: CaseAnswers,
    index: int,
    recorded: tuple[str, ...] | None = None,
) -> SampleResult:
    if answers.turns:
        return score_turns(spec, case, answers, index, recorded)
    completion = answers.completions[index]
    trace = answers.traces[index] if answers.traces else None
    ctx, format_error = sample_context(spec, case, completion, trace, recorded)
    asked = answers.asked  # empty unless a check asks a model
    results = tuple(
        [
            CheckResult(
                c.label,
                c.weight,
                _run(c, ctx, asked.get((index, i)) if asked else None),
                c.asks is not None,
            )
            for i, c in enumerate(case.checks)
        ]
    )
    score = _weighted_score(results)
    steps = trace or ()
    if format_error is not None:
        return SampleResult(index, completion, format_error, results, 0.0, False, steps)
    if case.threshold is None:
        passed = all(r.verdict.passed for r in results)
    else:
        passed = score + 1e-9 >= case.threshold
    return SampleResult(index, completion, None, results, score, passed, steps)


def score_turns(
    spec: PromptSpec,
    case: Case,
    answers: CaseAnswers,
    index: int,
    recorded: tuple[str, ...] | None = None,
) -> SampleResult:
    """A conversation: each turn by its own checks, the last also by the file's and the
    case's; the sample passes when every turn does (or, with a threshold, when the weighted
    mean of every check of every turn reaches it, and every reply has the format)."""
    last = score_sample(spec, case, answers._replace(turns=()), index, recorded)
    conversation = answers.turns[index]
    own = [
        _score_turn(spec, case, turn, answer)
        for turn, answer in zip(case.turns, conversation, strict=True)
    ]
    labelled = tuple(
        c._replace(label=f"turn {k}: {c.label}") for k, t in enumerate(own, 1) for c in t.checks
    )
    every = (*labelled, *last.checks)
    turns = [*own[:-1], replace(own[-1], checks=(*own[-1].checks, *last.checks))]
    score = _weighted_score(every)
    broken = next((t.format_error for t in turns if t.format_error is not None), None)
    if broken is not None:
        return SampleResult(index, last.completion, broken, every, 0.0, False, turns=tuple(turns))
    if case.threshold is None:
        passed = all(t.passed for t in turns)
    else:
        passed = score + 1e-9 >= case.threshold
    return SampleResult(index, last.completion, None, every, score, passed, turns=tuple(turns))


def _score_turn(spec: PromptSpec, case: Case, turn: Turn, answer: Completion) -> TurnResult:
    ctx, format_error = sample_context(spec, case, answer)
    checks = tuple(CheckResult(c.label, c.weight, _run(c, ctx, None)) for c in turn.checks)
    return TurnResult(turn.user, answer, format_error, checks)


def sample_context(
    spec: PromptSpec,
    case: Case,
    completion: Completion,
    trace: Trace | None = None,
    recorded: tuple[str, ...] | None = None,
) -> tuple[SampleContext, str | None]:
    """One sample as its checks see it, and why its output breaks the format, if it does."""
    parsed, format_error = NOT_JSON, None
    if spec.format_type == "json":
        parsed, format_error = parse_format(completion.text, spec.format_schema)
    ctx = SampleContext(
        text=completion.text,
        completion=completion,
        json=parsed,
        json_format=spec.format_type == "json",
        case_id=case.id,
        vars=case.vars,
        tools=spec.tools,
        trace=trace,
        recorded=recorded,
    )
    return ctx, format_error


def parse_format(text: str, schema: Schema | None) -> tuple[Any, str | None]:
    """Parse JSON output (see ``output_json_text``) and validate it against schema."""
    parsed, error = output_json_text(text)
    if error is None and schema is not None:
        error = first_schema_error(parsed, schema)
        if error is not None:
            return parsed, f"output does not match format.schema: {error}"
    return parsed, error


def _run(check: CheckSpec, ctx: SampleContext, asked: Asked | None) -> Verdict:
    try:
        if not isinstance(check.check, ModelCheck):
            return check.check(ctx)
        if asked is None or isinstance(asked, str):
            reason = asked or "its model calls were not made"
            return Verdict(False, 0.0, f"{check.kind}: {reason}", evaluated=False)
        return check.check.judge(ctx, asked)
    except JudgeVerdictError:  # a judge that answered no verdict: the item errors, never passes
        raise
    except Exception as exc:  # a check must not take the run down; its failure is the verdict
        return Verdict(
            False, 0.0, f"{check.kind} raised {type(exc).__name__}: {exc}", evaluated=False
        )


def _weighted_score(results: tuple[CheckResult, ...]) -> float:
    total = weighted = 0.0  # one pass, adding in the order sum() did
    for r in results:
        total += r.weight
        weighted += r.weight * r.verdict.score
    if total == 0:
        return 1.0
    return weighted / total
