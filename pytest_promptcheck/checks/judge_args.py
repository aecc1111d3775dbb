"""A ``judge`` check's argument, checked at collection time (DESIGN §3), and the parts of the
output and case that a judge is shown: shared by the absolute judge (judge.py) and the pairwise
one (judge_pairwise.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import SampleContext
from pytest_promptcheck.checks.args import arg_error
from pytest_promptcheck.checks.judge_prompt import TEMPLATE_VERSION, input_text
from pytest_promptcheck.checks.judge_verdict import SCALES
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import ModelRequest
from pytest_promptcheck.render import Template, TemplateError, compile_template, make_environment

MAX_VOTES = 15
"""More votes cost more than they tell: the standard error of a mean of 15 votes is already
within 0.13 of any verdict's."""
MAX_RUBRIC_CHARS = 20_000
MAX_TOKENS = 512
"""A verdict is a short reasoning and one field."""
_KEYS = ("rubric", "model", "include", "reference", "scale", "min", "votes", "labels", "against")
_INCLUDES = ("input", "reference")
_EXAMPLE = "judge: {rubric: Answers the question and promises no date.}"
NO_MODEL_HINT = (
    "a judge needs a model and there is no default: set 'model: openai:MODEL' in the check, "
    "or --promptcheck-judge-model=PROVIDER:MODEL, or ini promptcheck_judge_model"
)


@dataclass(frozen=True)
class JudgeArgs:
    """A judge check's argument, checked."""

    rubric: str
    model: str
    include: tuple[str, ...] = ()
    reference: Template | None = None
    scale: str = "pass_fail"
    min: float = 0.5
    votes: int = 1
    labels: Path | None = None
    against: str | None = None

    @property
    def params(self) -> dict[str, Any]:
        # one vote is the judge's best answer; several are samples of its opinion
        return {"temperature": 0 if self.votes == 1 else 1.0, "max_tokens": MAX_TOKENS}

    @property
    def identity(self) -> dict[str, Any]:
        """What makes two judgements comparable: a change is the drift cause `judge changed`."""
        return {"model": self.model, "rubric": self.rubric, "template": TEMPLATE_VERSION}

    def request(self, messages: tuple[dict[str, str], ...], schema: dict[str, Any]) -> ModelRequest:
        return ModelRequest(self.model, messages, None, params=self.params, output_schema=schema)


def parts(args: JudgeArgs, ctx: SampleContext, output: str | None = None) -> list[tuple[str, str]]:
    """The fenced parts of the user message: what the judge may see besides the output."""
    shown: list[tuple[str, str]] = []
    if "input" in args.include:
        shown.append(("INPUT", input_text(ctx.request, ctx.vars)))
    if args.reference is not None:
        shown.append(("REFERENCE", args.reference.render(ctx.vars)))
    if output is not None or args.against is None:
        shown.append(("OUTPUT", ctx.text if output is None else output))
    return shown


def judge_args(arg: Any, default_model: str | None, base_dir: Path, project: Project) -> JudgeArgs:
    """The checked argument (a mapping, or a rubric alone); raises CheckArgError."""
    if isinstance(arg, str):
        arg = {"rubric": arg}
    if not isinstance(arg, dict):
        raise arg_error("a mapping with a rubric", arg, _EXAMPLE)
    unknown = sorted(set(arg) - set(_KEYS))
    if unknown:
        raise CheckArgError(f"unknown key '{unknown[0]}'", hint=f"a judge takes {', '.join(_KEYS)}")
    scale = _scale(arg)
    against = _against(arg)
    return JudgeArgs(
        rubric=_rubric(arg),
        model=_model(arg, default_model),
        include=_include(arg),
        reference=_reference(arg),
        scale=scale,
        min=_min(arg, scale),
        votes=_votes(arg),
        labels=_labels(arg, base_dir, project, against),
        against=against,
    )


def _rubric(arg: dict[str, Any]) -> str:
    rubric = arg.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise arg_error("a non-empty string", rubric, _EXAMPLE, where="rubric")
    if len(rubric) > MAX_RUBRIC_CHARS:
        raise CheckArgError(
            f"rubric: {len(rubric)} characters, more than {MAX_RUBRIC_CHARS}",
            hint="a rubric says what a good answer does in a few sentences",
        )
    return rubric


def _model(arg: dict[str, Any], default_model: str | None) -> str:
    model = arg.get("model", default_model)
    if model is None:
        raise CheckArgError("no judge model is set", hint=NO_MODEL_HINT)
    if not isinstance(model, str) or ":" not in model.strip(":"):
        raise arg_error("a model id PROVIDER:MODEL", model, "model: openai:gpt-4.1", where="model")
    return model


def _include(arg: dict[str, Any]) -> tuple[str, ...]:
    include = arg.get("include", [])
    if not isinstance(include, list) or any(i not in _INCLUDES for i in include):
        raise arg_error(
            "a list of input and/or reference", include, "include: [input]", where="include"
        )
    if len(set(include)) != len(include):
        raise CheckArgError("include: lists a part twice", hint="e.g. include: [input, reference]")
    if ("reference" in include) != ("reference" in arg):
        raise CheckArgError(
            "include: reference and reference: go together",
            hint="e.g. include: [reference] with reference: '{{ expected }}'",
        )
    return tuple(include)


def _reference(arg: dict[str, Any]) -> Template | None:
    source = arg.get("reference")
    if source is None:
        return None
    if not isinstance(source, str) or not source:
        raise arg_error(
            "a template string", source, "reference: '{{ expected }}'", where="reference"
        )
    try:
        return compile_template(make_environment(), source)
    except TemplateError as exc:
        raise CheckArgError(f"reference: {exc.message}", hint=exc.hint) from None


def _scale(arg: dict[str, Any]) -> str:
    scale = arg.get("scale", "pass_fail")
    if scale not in SCALES:
        raise CheckArgError(
            f"scale: unknown scale {scale!r}", hint=f"use one of {', '.join(SCALES)}"
        )
    if "against" in arg and "scale" in arg:
        raise CheckArgError(
            "scale: a pairwise judge (against: baseline) has no scale",
            hint="it answers which output is better; remove scale",
        )
    return str(scale)


def _min(arg: dict[str, Any], scale: str) -> float:
    default = 0.5 if scale == "pass_fail" else 0.7
    value = arg.get("min", default)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 <= value <= 1:
        raise arg_error("a number from 0 to 1", value, "min: 0.7", where="min")
    return float(value)


def _votes(arg: dict[str, Any]) -> int:
    votes = arg.get("votes", 1)
    if isinstance(votes, bool) or not isinstance(votes, int) or not 1 <= votes <= MAX_VOTES:
        raise arg_error(f"a whole number from 1 to {MAX_VOTES}", votes, "votes: 3", where="votes")
    return votes


def _against(arg: dict[str, Any]) -> str | None:
    against = arg.get("against")
    if against is not None and against != "baseline":
        raise arg_error(
            "'baseline' (the case's recorded output)", against, "against: baseline", where="against"
        )
    return against


def _labels(
    arg: dict[str, Any], base_dir: Path, project: Project, against: str | None
) -> Path | None:
    given = arg.get("labels")
    if given is None:
        return None
    if not isinstance(given, str) or not given:
        raise arg_error(
            "a path to a .jsonl file", given, "labels: labels/tone.jsonl", where="labels"
        )
    if against is not None:
        raise CheckArgError(
            "labels: a pairwise judge (against: baseline) takes no labels",
            hint="label the outputs of a judge with a rubric alone",
        )
    return project.confine(base_dir / given, f"labels: {given}")
